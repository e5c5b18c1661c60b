using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Tests.DependencyInjection;

public class SystemOfRecordServiceCollectionExtensionsTests
{
    [Test]
    public async Task AddSystemOfRecord_NothingChosen_InMemoryStoreAndSubscribablePublisher()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord();
        await using var provider = services.BuildServiceProvider();

        var sor = provider.GetRequiredService<SystemOfRecord>();
        var publisher = provider.GetRequiredService<InMemoryEventPublisher>();
        var seen = new List<RecordedEvent>();
        using var subscription = publisher.Subscribe((e, _) => { seen.Add(e); return ValueTask.CompletedTask; });
        var e = await sor.AppendAsync("m");

        Assert.Multiple(() =>
        {
            Assert.That(provider.GetRequiredService<IEventStore>(), Is.InstanceOf<InMemoryEventStore>());
            Assert.That(provider.GetRequiredService<IEventPublisher>(), Is.SameAs(publisher));
            Assert.That(provider.GetRequiredService<SystemOfRecord>(), Is.SameAs(sor));
            Assert.That(seen, Is.EqualTo(new[] { e }));
        });
    }

    [Test]
    public void AddSystemOfRecord_Configure_AppliesOptionsAndStrategy()
    {
        var seen = new List<DateTime>();
        var services = new ServiceCollection();
        services.AddSystemOfRecord(o => o.BucketIncrement = TimeSpan.FromMinutes(1))
            .UseInMemory()
            .UseInMemoryPublisher()
            .WithReplayStrategy(seen.Add);
        using var provider = services.BuildServiceProvider();

        var sor = provider.GetRequiredService<SystemOfRecord>();
        var start = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        sor.ReplayDateRange(start, start.AddMinutes(3));

        Assert.Multiple(() =>
        {
            Assert.That(sor.BucketIncrement, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(seen, Is.EqualTo(new[] { start, start.AddMinutes(1), start.AddMinutes(2) }));
        });
    }

    [Test]
    public void AddSystemOfRecord_CalledTwice_OneSingleton()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord();
        services.AddSystemOfRecord();
        using var provider = services.BuildServiceProvider();

        Assert.Multiple(() =>
        {
            Assert.That(services.Count(d => d.ServiceType == typeof(SystemOfRecord)), Is.EqualTo(1));
            Assert.That(provider.GetServices<IValidateOptions<SystemOfRecordOptions>>().Count(), Is.EqualTo(1));
        });
    }

    [Test]
    public void AddSystemOfRecord_BadOptions_ResolveFailsNamingEverySetting()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord(o =>
        {
            o.BucketIncrement = TimeSpan.FromDays(2);
            o.DefaultTopic = "";
        });
        using var provider = services.BuildServiceProvider();

        Assert.That(() => provider.GetRequiredService<SystemOfRecord>(),
            Throws.InstanceOf<OptionsValidationException>().With.Message.Contain("BucketIncrement").And.Message.Contain("DefaultTopic"));
    }

    [Test]
    public void UseEventStore_CustomStore_Replaces()
    {
        var custom = new InMemoryEventStore();
        var services = new ServiceCollection();
        services.AddSystemOfRecord().UseEventStore(_ => custom);
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<SystemOfRecord>().Store, Is.SameAs(custom));
    }
}
