using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Moq;

namespace EventSourcing.SystemOfRecord.Tests.Storage;

public sealed class EventStoreHealthCheckTests
{
    [Test]
    public async Task CheckHealthAsync_StoreAnswers_Healthy()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord();
        await using var provider = services.BuildServiceProvider();

        var result = await provider.GetRequiredService<EventStoreHealthCheck>().CheckHealthAsync(new HealthCheckContext());

        Assert.That(result.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(result.Data, Does.ContainKey("roundTripMilliseconds"));
    }

    [Test]
    public async Task CheckHealthAsync_StoreUnreachable_UnhealthyWithItsError()
    {
        var store = new Mock<IEventStore>();
        store.Setup(s => s.EnsureCreatedAsync(It.IsAny<TimeSpan>(), It.IsAny<CancellationToken>()))
            .Returns(ValueTask.FromException(new IOException("connection refused")));
        var services = new ServiceCollection();
        services.AddSystemOfRecord().UseEventStore(_ => store.Object);
        await using var provider = services.BuildServiceProvider();

        var result = await provider.GetRequiredService<EventStoreHealthCheck>().CheckHealthAsync(new HealthCheckContext());

        Assert.That(result.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(result.Description, Does.Contain("connection refused"));
        Assert.That(result.Exception, Is.InstanceOf<IOException>());
    }
}
