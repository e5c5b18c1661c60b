using EventSourcing.SystemOfRecord.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Tests.Recovery;

/// <summary>Publish recovery as dependency injection and a host set it up: options, the hosted start, the health check.</summary>
public class PublishRecoveryTests
{
    [Test]
    public void Options_Invalid_OneExceptionNamesEveryBadSetting()
    {
        var options = new PublishRecoveryOptions
        {
            InstanceName = "bad name",
            PublishTimeout = TimeSpan.Zero,
            RecoveryInterval = TimeSpan.FromSeconds(1),
            LeaseDuration = TimeSpan.FromSeconds(2),
            UnhealthyLag = TimeSpan.FromSeconds(-1),
        };

        var failure = Assert.Throws<OptionsValidationException>(() =>
            _ = new SystemOfRecord(new InMemoryEventStore(), new ScriptedPublisher(), Options.Create(new SystemOfRecordOptions()), publishRecovery: options));

        Assert.That(failure!.Failures, Has.Some.Contains("InstanceName").And.Some.Contains("PublishTimeout").And.Some.Contains("LeaseDuration").And.Some.Contains("UnhealthyLag"));
    }

    [Test]
    public async Task Host_WithPublishRecovery_StartsThePipelineAndTakesTheLeaseBeforeAnyAppend()
    {
        var store = new InMemoryEventStore();
        using var host = Host(store, o => o.InstanceName = "worker-3");

        await host.StartAsync();

        var cursors = new List<PublishCursorInfo>();
        await foreach (var cursor in host.Services.GetRequiredService<SystemOfRecord>().GetPublishCursorsAsync())
        {
            cursors.Add(cursor);
        }

        Assert.Multiple(() =>
        {
            Assert.That(cursors.Select(c => c.InstanceName), Is.EqualTo(new[] { "worker-3" }), "PublishRecoveryOptions.InstanceName is the instance's name");
            Assert.That(cursors[0].IsReleased, Is.False, "held while the host runs");
            Assert.That(host.Services.GetRequiredService<SystemOfRecord>().GetPublishStatus().IsDurable, Is.True);
        });

        await host.StopAsync();
        await foreach (var cursor in store.ReadCheckpointsAsync(PublishCursorRecord.NamePrefix))
        {
            Assert.That(PublishCursorRecord.Parse(cursor.Key, cursor.Value).Released, Is.True, "let go at host stop");
        }
    }

    [Test]
    public async Task HealthCheck_OldestUnpublishedEventWaitedPastTheThreshold_Unhealthy()
    {
        var publisher = new ScriptedPublisher { FailEverything = new ScriptedPublisher.TransientFailure("broker away") };
        using var host = Host(new InMemoryEventStore(), o => o.UnhealthyLag = TimeSpan.FromMilliseconds(50), publisher, PublishMode.Committed);
        await host.StartAsync();
        var sor = host.Services.GetRequiredService<SystemOfRecord>();
        var check = host.Services.GetRequiredService<PublishLagHealthCheck>();

        await sor.AppendAsync("m");
        await Eventually.UntilAsync(async () => (await check.CheckHealthAsync(new())).Status == HealthStatus.Unhealthy, "the lag passes 50 ms");

        publisher.FailEverything = null;
        await Eventually.UntilAsync(async () => (await check.CheckHealthAsync(new())).Status == HealthStatus.Healthy, "the event is published and nothing waits");
        await host.StopAsync();
    }

    private static IHost Host(InMemoryEventStore store, Action<PublishRecoveryOptions> configure, IEventPublisher? publisher = null, PublishMode mode = PublishMode.Acknowledged)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSystemOfRecord(o => o.PublishMode = mode)
            .UseEventStore(_ => store)
            .UseEventPublisher(_ => publisher ?? new ScriptedPublisher())
            .WithPublishRecovery(o =>
            {
                o.RecoveryInterval = TimeSpan.FromMilliseconds(50);
                o.LeaseDuration = TimeSpan.FromMilliseconds(400);
                configure(o);
            });
        return builder.Build();
    }
}
