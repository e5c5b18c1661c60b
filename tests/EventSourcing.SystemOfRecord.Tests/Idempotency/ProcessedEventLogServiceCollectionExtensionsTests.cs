using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.SystemOfRecord.Tests.Idempotency;

public sealed class ProcessedEventLogServiceCollectionExtensionsTests
{
    [Test]
    public void AddInMemoryProcessedEventLog_Capacity_RegistersOneLogOfThatCapacity()
    {
        var services = new ServiceCollection();
        services.AddProcessedEventLog(_ => Moq.Mock.Of<IProcessedEventLog>());
        services.AddInMemoryProcessedEventLog(capacity: 10);
        using var provider = services.BuildServiceProvider();

        var log = provider.GetRequiredService<IProcessedEventLog>();

        Assert.That(log, Is.InstanceOf<InMemoryProcessedEventLog>());
        Assert.That(((InMemoryProcessedEventLog)log).Capacity, Is.EqualTo(10));
        Assert.That(provider.GetRequiredService<IProcessedEventLog>(), Is.SameAs(log));
        Assert.That(services.Count(d => d.ServiceType == typeof(IProcessedEventLog)), Is.EqualTo(1), "the last choice replaces the one before");
    }

    [Test]
    public void AddInMemoryProcessedEventLog_NoCapacity_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceCollection().AddInMemoryProcessedEventLog(0));
    }
}
