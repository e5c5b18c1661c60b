using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Tests.Recovery;

public class PublishRecoveryServiceTests
{
    private static readonly DateTimeOffset Start = new(2024, 6, 1, 10, 0, 0, TimeSpan.Zero);

    private FakeTimeProvider _clock = default!;
    private InMemoryEventStore _store = default!;
    private SwitchablePublisher _publisher = default!;
    private ServiceProvider _provider = default!;

    [SetUp]
    public void SetUp()
    {
        _clock = new FakeTimeProvider(Start);
        _store = new InMemoryEventStore();
        _publisher = new SwitchablePublisher();
        _provider = Build(_store);
    }

    [TearDown]
    public async Task TearDown() => await _provider.DisposeAsync();

    private DateTime CurrentBucket() => _provider.GetRequiredService<SystemOfRecord>().GetBucket(_clock.GetUtcNow());

    private ServiceProvider Build(IEventStore store, Action<PublishRecoveryOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddSystemOfRecord()
            .UseEventStore(_ => store)
            .UseEventPublisher(_ => _publisher)
            .WithPublishRecovery(o =>
            {
                o.InstanceName = "app-1";
                o.PublishTimeout = TimeSpan.FromMilliseconds(200);
                configure?.Invoke(o);
            });
        return services.BuildServiceProvider();
    }

    [Test]
    public async Task AppendAsync_BrokerDown_ThrowsWithRecoveryScheduledAndRecoveryPublishesLater()
    {
        var sor = _provider.GetRequiredService<SystemOfRecord>();
        var service = _provider.GetRequiredService<PublishRecoveryService>();
        await service.PrepareAsync(CancellationToken.None);
        _publisher.Down = true;

        var ex = await AppendExpectingDeferralAsync(sor, "lost by the broker");
        await DriveAsync(() => service.RunOnceAsync(CancellationToken.None)); // broker still down: stays deferred
        var deferredWhileDown = _provider.GetRequiredService<PublishTracker>().DeferredCount;
        _publisher.Down = false;
        await DriveAsync(() => service.RunOnceAsync(CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.RecoveryScheduled, Is.True);
            Assert.That(ex.Message, Does.Contain("publish recovery"));
            Assert.That(deferredWhileDown, Is.EqualTo(1));
            Assert.That(_publisher.Published.Select(e => e.EventId), Is.EqualTo(new[] { ex.Event.EventId }));
            Assert.That(_provider.GetRequiredService<PublishTracker>().DeferredCount, Is.Zero);
        });
        await service.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task AppendAsync_PublisherHangs_ReturnsWithinTimeoutAsDeferred()
    {
        var sor = _provider.GetRequiredService<SystemOfRecord>();
        _publisher.Hang = true;

        var ex = await AppendExpectingDeferralAsync(sor, "m");

        Assert.Multiple(() =>
        {
            Assert.That(ex.InnerException, Is.InstanceOf<TimeoutException>());
            Assert.That(ex.InnerException!.Message, Does.Contain("PublishTimeout"));
            Assert.That(_store.Count, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Append_PublisherHangs_BlockingCallReturnsWithinTimeoutAsDeferred()
    {
        var sor = _provider.GetRequiredService<SystemOfRecord>();
        _publisher.Hang = true;

        var ex = await DriveAsync(() => Task.Run(() =>
        {
            try
            {
                sor.Append("m");
            }
            catch (EventPublishException caught)
            {
                return caught;
            }

            throw new AssertionException("the append did not fail");
        }));

        Assert.Multiple(() =>
        {
            Assert.That(ex.RecoveryScheduled, Is.True);
            Assert.That(ex.InnerException, Is.InstanceOf<TimeoutException>());
            Assert.That(_provider.GetRequiredService<PublishTracker>().DeferredCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task PrepareAsync_AfterCrash_RepublishesEverythingSinceTheWatermark()
    {
        // A previous process recorded these and died before publishing them.
        await _store.EnsureCreatedAsync(TimeSpan.FromSeconds(15));
        await _store.WriteCheckpointAsync("publish-watermark/app-1", Start.UtcDateTime.ToString("O"));
        var before = new RecordedEvent(Start.UtcDateTime.AddSeconds(-15), TimeUuid.Create(Start.AddSeconds(-10)), "events", null, "already published");
        var unpublished = Enumerable.Range(0, 5)
            .Select(i => new RecordedEvent(Start.UtcDateTime.AddSeconds(15 * i), TimeUuid.Create(Start.AddSeconds((15 * i) + 1)), "events", null, $"m{i}"))
            .ToList();
        await _store.AppendAsync(before);
        foreach (var e in unpublished)
        {
            await _store.AppendAsync(e);
        }

        _clock.SetUtcNow(Start.AddMinutes(2));
        var service = _provider.GetRequiredService<PublishRecoveryService>();
        await service.PrepareAsync(CancellationToken.None);
        await DriveAsync(() => service.RunOnceAsync(CancellationToken.None));
        await service.StopAsync(CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(_publisher.Published, Is.EqualTo(unpublished));
            Assert.That(await _store.ReadCheckpointAsync("publish-watermark/app-1"), Is.EqualTo(CurrentBucket().ToString("O")));
        });
    }

    [Test]
    public async Task RunOnceAsync_DeferredBucket_HoldsThePersistedWatermark()
    {
        var sor = _provider.GetRequiredService<SystemOfRecord>();
        var service = _provider.GetRequiredService<PublishRecoveryService>();
        await service.PrepareAsync(CancellationToken.None);
        _publisher.Down = true;
        await AppendExpectingDeferralAsync(sor, "m");

        _clock.Advance(TimeSpan.FromMinutes(10));
        await DriveAsync(() => service.RunOnceAsync(CancellationToken.None));
        var held = await _store.ReadCheckpointAsync("publish-watermark/app-1");
        _publisher.Down = false;
        await DriveAsync(() => service.RunOnceAsync(CancellationToken.None));
        var moved = await _store.ReadCheckpointAsync("publish-watermark/app-1");

        Assert.Multiple(() =>
        {
            Assert.That(held, Is.EqualTo(Start.UtcDateTime.ToString("O")));
            Assert.That(moved, Is.EqualTo(CurrentBucket().ToString("O")));
        });
        await service.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task PrepareAsync_FirstStart_PersistsAWatermarkBeforeAnyRound()
    {
        var service = _provider.GetRequiredService<PublishRecoveryService>();

        await service.PrepareAsync(CancellationToken.None);

        Assert.That(await _store.ReadCheckpointAsync("publish-watermark/app-1"), Is.EqualTo(CurrentBucket().ToString("O")));
    }

    [Test]
    public async Task HealthCheck_LagPastThreshold_Unhealthy()
    {
        var sor = _provider.GetRequiredService<SystemOfRecord>();
        var check = _provider.GetRequiredService<PublishLagHealthCheck>();
        var healthy = await check.CheckHealthAsync(new HealthCheckContext());
        _publisher.Down = true;
        await AppendExpectingDeferralAsync(sor, "m");
        var degraded = await check.CheckHealthAsync(new HealthCheckContext());
        _clock.Advance(TimeSpan.FromMinutes(6));
        var unhealthy = await check.CheckHealthAsync(new HealthCheckContext());

        Assert.Multiple(() =>
        {
            Assert.That(healthy.Status, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(degraded.Status, Is.EqualTo(HealthStatus.Degraded));
            Assert.That(unhealthy.Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(unhealthy.Description, Does.Contain("waited"));
        });
    }

    [Test]
    public void PrepareAsync_StoreWithoutCheckpoints_FailsNamingTheInterface()
    {
        using var provider = Build(new Moq.Mock<IEventStore>().Object);
        var service = provider.GetRequiredService<PublishRecoveryService>();

        Assert.That(async () => await service.PrepareAsync(CancellationToken.None),
            Throws.InvalidOperationException.With.Message.Contain("ICheckpointStore"));
    }

    [Test]
    public void Options_Invalid_NamesEveryBadSetting()
    {
        using var provider = Build(_store, o =>
        {
            o.InstanceName = " ";
            o.PublishTimeout = TimeSpan.Zero;
            o.RecoveryInterval = TimeSpan.FromSeconds(-1);
        });

        Assert.That(() => provider.GetRequiredService<IOptions<PublishRecoveryOptions>>().Value,
            Throws.InstanceOf<OptionsValidationException>().With.Message.Contain("InstanceName").And.Message.Contain("PublishTimeout").And.Message.Contain("RecoveryInterval"));
    }

    [Test]
    public async Task Host_BrokerOutage_EveryAppendedEventPublishedAfterRecovery()
    {
        var publisher = new SwitchablePublisher { Down = true };
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSystemOfRecord()
            .UseEventPublisher(_ => publisher)
            .WithPublishRecovery(o =>
            {
                o.InstanceName = "host-test";
                o.PublishTimeout = TimeSpan.FromMilliseconds(100);
                o.RecoveryInterval = TimeSpan.FromMilliseconds(50);
            });
        using var host = builder.Build();
        await host.StartAsync();
        var sor = host.Services.GetRequiredService<SystemOfRecord>();

        var appended = new List<RecordedEvent>();
        for (var i = 0; i < 20; i++)
        {
            try
            {
                appended.Add(await sor.AppendAsync($"m{i}"));
            }
            catch (EventPublishException ex) when (ex.RecoveryScheduled)
            {
                appended.Add(ex.Event);
            }
        }

        publisher.Down = false;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!appended.All(e => publisher.Published.Contains(e)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await host.StopAsync();
        Assert.That(publisher.Published.Distinct(), Is.SupersetOf(appended));
    }

    /// <summary>Runs <paramref name="work"/> while moving the fake clock on, so timeouts and retry delays elapse.</summary>
    private async Task<T> DriveAsync<T>(Func<Task<T>> work)
    {
        var task = work();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!task.IsCompleted)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the work did not finish");
            _clock.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(1);
        }

        return await task;
    }

    private Task DriveAsync(Func<Task> work) => DriveAsync(async () => { await work(); return 0; });

    private Task<EventPublishException> AppendExpectingDeferralAsync(SystemOfRecord sor, string message) =>
        DriveAsync(async () =>
        {
            try
            {
                await sor.AppendAsync(message);
            }
            catch (EventPublishException ex)
            {
                return ex;
            }

            throw new AssertionException("the append did not fail");
        });

    /// <summary>A publisher whose broker can be switched off, or made to hang.</summary>
    private sealed class SwitchablePublisher : IEventPublisher
    {
        private readonly List<RecordedEvent> _published = [];

        public volatile bool Down;
        public volatile bool Hang;

        public IReadOnlyList<RecordedEvent> Published
        {
            get
            {
                lock (_published)
                {
                    return [.. _published];
                }
            }
        }

        public async ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
        {
            if (Hang)
            {
                await Task.Delay(Timeout.Infinite, CancellationToken.None);
            }

            if (Down)
            {
                throw new InvalidOperationException("broker unreachable");
            }

            lock (_published)
            {
                _published.Add(recordedEvent);
            }
        }
    }
}
