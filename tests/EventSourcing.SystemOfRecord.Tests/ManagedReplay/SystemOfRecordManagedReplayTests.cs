using System.Collections.Concurrent;
using EventSourcing.SystemOfRecord.Tests.Support;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace EventSourcing.SystemOfRecord.Tests.ManagedReplay;

public class SystemOfRecordManagedReplayTests
{
    private static readonly DateTime Start = ReplayTestKit.Start;

    /// <summary>Offsets (seconds after Start) of <paramref name="count"/> events spread evenly over <paramref name="buckets"/> 15-second buckets.</summary>
    private static double[] Spread(int count, int buckets) =>
        [.. Enumerable.Range(0, count).Select(i => (i * 15.0 * buckets / count) + 0.001)];

    /// <summary>A target that records what it receives.</summary>
    private sealed class Recorder
    {
        private readonly ConcurrentQueue<RecordedEvent> _received = new();

        public Func<RecordedEvent, Task>? Before { get; set; }

        public int Count => _received.Count;

        public List<RecordedEvent> Received => [.. _received];

        public async ValueTask DeliverAsync(RecordedEvent e, CancellationToken cancellationToken)
        {
            if (Before is not null)
            {
                await Before(e);
            }

            _received.Enqueue(e);
        }
    }

    private static Dictionary<string, List<TimeUuid>> ByKey(IEnumerable<RecordedEvent> events) =>
        events.GroupBy(e => e.Key ?? "").ToDictionary(g => g.Key, g => g.Select(e => e.EventId).ToList());

    [Test]
    public async Task RunReplayAsync_Publisher_RepublishesTheRangeOnceInOrderAndASecondRunDeliversNothing()
    {
        using var kit = new ReplayTestKit();
        var seeded = await kit.SeedAsync([-5, 0, 1, 16, 17, 50, 59, 60, 61], "a", "b");
        var range = seeded.GetRange(1, 6);

        var first = await kit.Sor.RunReplayAsync("republish-june", Start, Start.AddSeconds(60));
        var publishedByFirst = kit.PublishedSnapshot();
        var second = await kit.Sor.RunReplayAsync("republish-june", Start, Start.AddSeconds(60));
        var checkpoint = await kit.Sor.GetReplayCheckpointAsync("republish-june");

        Assert.Multiple(() =>
        {
            Assert.That(publishedByFirst, Is.EqualTo(range));
            Assert.That(first.EventsDelivered, Is.EqualTo(6));
            Assert.That(first.ResumedFrom, Is.Null);
            Assert.That(first.BucketsTotal, Is.EqualTo(4));
            Assert.That(first.Name, Is.EqualTo("republish-june"));
            Assert.That(first.From, Is.EqualTo(Start));
            Assert.That(first.To, Is.EqualTo(Start.AddSeconds(60)));
            Assert.That(second.EventsDelivered, Is.Zero);
            Assert.That(second.ResumedFrom, Is.EqualTo(Start.AddSeconds(60)));
            Assert.That(kit.PublishedSnapshot(), Has.Count.EqualTo(6));
            Assert.That(checkpoint!.IsComplete, Is.True);
            Assert.That(checkpoint.NextBucket, Is.EqualTo(Start.AddSeconds(60)));
            Assert.That(checkpoint.LastEventId, Is.Null);
        });
    }

    [Test]
    public async Task RunReplayAsync_CancelledHalfWay_ResumesFromItsCheckpointAndDeliversNothingTwice()
    {
        using var kit = new ReplayTestKit();
        var seeded = await kit.SeedAsync(Spread(100, 10), "k0", "k1", "k2", "k3", "k4");
        var recorder = new Recorder();
        using var cts = new CancellationTokenSource();
        recorder.Before = _ =>
        {
            if (recorder.Count >= 36) // not ==: two lanes may both pass 36 before either looks
            {
                cts.Cancel();
            }

            return Task.CompletedTask;
        };
        var options = new ManagedReplayOptions { MaxParallelism = 3 };

        Assert.That(async () => await kit.Sor.RunReplayAsync("half", Start, Start.AddSeconds(150), recorder.DeliverAsync, options, cancellationToken: cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
        var afterFirst = recorder.Count;
        var checkpoint = await kit.Sor.GetReplayCheckpointAsync("half");
        recorder.Before = null;
        var second = await kit.Sor.RunReplayAsync("half", Start, Start.AddSeconds(150), recorder.DeliverAsync, options);

        var received = recorder.Received;
        Assert.Multiple(() =>
        {
            Assert.That(afterFirst, Is.InRange(37, 99), "stopped part-way");
            Assert.That(checkpoint!.IsComplete, Is.False);
            Assert.That(second.ResumedFrom, Is.EqualTo(checkpoint.NextBucket));
            Assert.That(second.EventsDelivered, Is.EqualTo(100 - afterFirst));
            Assert.That(received, Has.Count.EqualTo(100));
            Assert.That(received.Select(e => e.EventId), Is.Unique);
            Assert.That(received.Select(e => e.EventId), Is.EquivalentTo(seeded.Select(e => e.EventId)));
            Assert.That(ByKey(received), Is.EqualTo(ByKey(seeded)), "each key in store order across the stop");
        });
    }

    [Test]
    public async Task RunReplayAsync_CancelledHalfWayIntoAnIdempotentHandler_AppliesEachStoredEventOnce()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync(Spread(60, 6), "a", "b", "c");
        var applied = new ConcurrentDictionary<TimeUuid, int>();
        using var cts = new CancellationTokenSource();
        var handler = new IdempotentEventHandler((e, _) =>
        {
            if (applied.AddOrUpdate(e.EventId, 1, (_, n) => n + 1) == 1 && applied.Count >= 25) // not ==: both lanes may add before either counts
            {
                cts.Cancel();
            }

            return ValueTask.CompletedTask;
        }, new InMemoryProcessedEventLog(), timeProvider: kit.Clock);
        var options = new ManagedReplayOptions { MaxParallelism = 2 };

        Assert.That(async () => await kit.Sor.RunReplayAsync("into-handler", Start, Start.AddSeconds(90), handler.HandleAsync, options, cancellationToken: cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
        await kit.Sor.RunReplayAsync("into-handler", Start, Start.AddSeconds(90), handler.HandleAsync, options);

        Assert.Multiple(() =>
        {
            Assert.That(applied, Has.Count.EqualTo(kit.Store.Count));
            Assert.That(applied.Values, Is.All.EqualTo(1));
            Assert.That(handler.HandledCount, Is.EqualTo(60));
            Assert.That(handler.DuplicateCount, Is.Zero, "the resumed replay redelivered nothing");
        });
    }

    [Test]
    public async Task RunReplayAsync_FourLanes_RunsLanesConcurrentlyAndKeepsEachKeysOrder()
    {
        using var kit = new ReplayTestKit();
        var seeded = await kit.SeedAsync(Spread(160, 8), "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
        var recorder = new Recorder();
        var inFlight = 0;
        var maxInFlight = 0;
        var waited = 0;
        recorder.Before = async _ =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref maxInFlight, now);
            if (Interlocked.Exchange(ref waited, 1) == 0)
            {
                await Eventually.UntilAsync(() => Volatile.Read(ref maxInFlight) >= 2, "a second lane to deliver while the first is busy");
            }

            await Task.Yield();
            Interlocked.Decrement(ref inFlight);
        };

        var result = await kit.Sor.RunReplayAsync("lanes", Start, Start.AddSeconds(120), recorder.DeliverAsync, new ManagedReplayOptions { MaxParallelism = 4 });

        var received = recorder.Received;
        Assert.Multiple(() =>
        {
            Assert.That(maxInFlight, Is.GreaterThanOrEqualTo(2));
            Assert.That(result.EventsDelivered, Is.EqualTo(160));
            Assert.That(received.Select(e => e.EventId), Is.Unique);
            Assert.That(received, Has.Count.EqualTo(160));
            Assert.That(ByKey(received), Is.EqualTo(ByKey(seeded)));
        });
    }

    [Test]
    public async Task RunReplayAsync_RateLimit_HoldsDeliveriesToBurstPlusRateTimesElapsed()
    {
        var fake = new FakeTimeProvider(new DateTimeOffset(Start.AddMinutes(-1)));
        var clock = new ParkingClock(fake);
        using var kit = new ReplayTestKit(clock: clock, fakeClock: fake);
        await kit.SeedAsync(Spread(25, 2));
        fake.SetUtcNow(new DateTimeOffset(Start.AddHours(1)));
        var t0 = fake.GetUtcNow();
        var stamps = new ConcurrentQueue<TimeSpan>();
        var options = new ManagedReplayOptions { MaxEventsPerSecond = 10, RateLimitBurst = 5 };

        var run = kit.Sor.RunReplayAsync("limited", Start, Start.AddSeconds(30), (e, _) =>
        {
            stamps.Enqueue(fake.GetUtcNow() - t0);
            return ValueTask.CompletedTask;
        }, options);
        for (var step = 0; step <= 20; step++)
        {
            var expected = 5 + step;
            await Eventually.UntilAsync(() => stamps.Count >= expected && (expected == 25 || clock.TimersCreated >= step + 1), $"{expected} deliveries, then a wait");
            if (expected < 25)
            {
                fake.Advance(TimeSpan.FromMilliseconds(100));
            }
        }

        var result = await run;

        var expectedStamps = Enumerable.Repeat(TimeSpan.Zero, 5).Concat(Enumerable.Range(1, 20).Select(i => TimeSpan.FromMilliseconds(100 * i)));
        Assert.That(stamps, Is.EqualTo(expectedStamps));
        Assert.That(result.EventsDelivered, Is.EqualTo(25));
        Assert.That(result.Elapsed, Is.EqualTo(TimeSpan.FromSeconds(2)));
    }

    [Test]
    public async Task RunReplayAsync_Progress_ReachesTheTotalWithEveryEvent()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0, 1, 20, 50, 51, 52]);
        var progress = new ListProgress<ReplayProgress>();

        await kit.Sor.RunReplayAsync("progress", Start, Start.AddSeconds(75), new Recorder().DeliverAsync, progress: progress);

        var reports = progress.Reports;
        Assert.Multiple(() =>
        {
            Assert.That(reports, Is.Not.Empty);
            Assert.That(reports.Select(r => r.BucketsCompleted), Is.Ordered);
            Assert.That(reports.Select(r => r.BucketsTotal), Is.All.EqualTo(5));
            Assert.That(reports[^1].BucketsCompleted, Is.EqualTo(5));
            Assert.That(reports[^1].Events, Is.EqualTo(6));
            Assert.That(reports[^1].EstimatedRemaining, Is.EqualTo(TimeSpan.Zero));
        });
    }

    [Test]
    public async Task RunReplayAsync_TargetFails_KeepsTheDeliveredPrefixAndTheNextRunRetriesFromTheFailedEvent()
    {
        using var kit = new ReplayTestKit();
        var seeded = await kit.SeedAsync([0, 1, 2, 3, 4, 20, 21]);
        var recorder = new Recorder();
        var attempts = new List<TimeUuid>();
        recorder.Before = e =>
        {
            attempts.Add(e.EventId);
            return attempts.Count == 4 ? Task.FromException(new InvalidOperationException("downstream down")) : Task.CompletedTask;
        };

        Assert.That(async () => await kit.Sor.RunReplayAsync("failing", Start, Start.AddSeconds(30), recorder.DeliverAsync),
            Throws.InvalidOperationException.With.Message.EqualTo("downstream down"));
        var checkpoint = await kit.Sor.GetReplayCheckpointAsync("failing");
        var second = await kit.Sor.RunReplayAsync("failing", Start, Start.AddSeconds(30), recorder.DeliverAsync);

        Assert.Multiple(() =>
        {
            Assert.That(checkpoint!.NextBucket, Is.EqualTo(Start));
            Assert.That(checkpoint.LastEventId, Is.EqualTo(seeded[2].EventId));
            Assert.That(second.EventsDelivered, Is.EqualTo(4));
            Assert.That(recorder.Received, Is.EqualTo(seeded));
            Assert.That(attempts, Is.EqualTo(seeded.Take(4).Concat(seeded.Skip(3)).Select(e => e.EventId)));
        });
    }

    [Test]
    public async Task RunReplayAsync_CrashBeforeTheFinalCheckpoint_ResumeRedeliversOnlyWhatFollowsTheLastSavedCheckpoint()
    {
        var inner = new InMemoryEventStore();
        var store = new CrashableStore(inner);
        using var kit = new ReplayTestKit(store: store);
        var seeded = await kit.SeedAsync(Spread(40, 4));
        var recorder = new Recorder();
        recorder.Before = _ =>
        {
            if (recorder.Count == 25)
            {
                store.Crashed = true; // the process dies: nothing it writes from now on reaches the store
                return Task.FromException(new IOException("killed"));
            }

            return Task.CompletedTask;
        };
        var options = new ManagedReplayOptions { CheckpointInterval = TimeSpan.Zero };

        Assert.That(async () => await kit.Sor.RunReplayAsync("crash", Start, Start.AddSeconds(60), recorder.DeliverAsync, options), Throws.InstanceOf<IOException>());
        store.Crashed = false;
        var saved = await kit.Sor.GetReplayCheckpointAsync("crash");
        var firstRun = recorder.Received;
        recorder.Before = null;
        var second = await kit.Sor.RunReplayAsync("crash", Start, Start.AddSeconds(60), recorder.DeliverAsync, options);

        var afterCheckpoint = seeded
            .Where(e => e.TimeBucket > saved!.NextBucket || (e.TimeBucket == saved.NextBucket && (saved.LastEventId is not { } last || e.EventId > last)))
            .ToList();
        Assert.Multiple(() =>
        {
            Assert.That(firstRun, Has.Count.EqualTo(25));
            Assert.That(saved!.NextBucket, Is.InRange(Start.AddSeconds(15), Start.AddSeconds(30)), "a bucket-completion checkpoint was saved before the crash");
            Assert.That(second.EventsDelivered, Is.EqualTo(afterCheckpoint.Count));
            Assert.That(recorder.Received.Skip(25), Is.EqualTo(afterCheckpoint));
            Assert.That(recorder.Received.Distinct().Count(), Is.EqualTo(40));
        });
    }

    [Test]
    public async Task RunReplayAsync_SameNameOtherRange_RefusesToResume()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0]);
        await kit.Sor.RunReplayAsync("named", Start, Start.AddSeconds(15), new Recorder().DeliverAsync);

        Assert.That(async () => await kit.Sor.RunReplayAsync("named", Start, Start.AddSeconds(30), new Recorder().DeliverAsync),
            Throws.InvalidOperationException.With.Message.Contain("'named'").And.Message.Contain("another name"));
    }

    [Test]
    public async Task RunReplayAsync_SameNameAlreadyRunning_Refused()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0]);
        var release = new TaskCompletionSource();
        var first = kit.Sor.RunReplayAsync("busy", Start, Start.AddSeconds(15), async (_, _) => await release.Task);

        Assert.That(async () => await kit.Sor.RunReplayAsync("busy", Start, Start.AddSeconds(15), new Recorder().DeliverAsync),
            Throws.InvalidOperationException.With.Message.Contain("already running"));
        release.SetResult();
        Assert.That((await first).EventsDelivered, Is.EqualTo(1));
    }

    [Test]
    public void RunReplayAsync_StoreWithoutCheckpoints_ThrowsNotSupported()
    {
        var store = new Mock<IEventStore>();
        using var sor = new SystemOfRecord(store.Object, new Mock<IEventPublisher>().Object, Options.Create(new SystemOfRecordOptions()));

        Assert.That(async () => await sor.RunReplayAsync("n", Start, Start.AddSeconds(15)),
            Throws.InstanceOf<NotSupportedException>().With.Message.Contain("ICheckpointStore"));
        store.Verify(s => s.ReadRangeAsync(It.IsAny<DateTime>(), It.IsAny<DateTime>(), It.IsAny<CancellationToken>()), Times.Never());
    }

    [Test]
    public void RunReplayAsync_BadArguments_ThrowBeforeReading()
    {
        using var kit = new ReplayTestKit();
        var target = new Recorder().DeliverAsync;

        Assert.Multiple(() =>
        {
            Assert.That(async () => await kit.Sor.RunReplayAsync(" ", Start, Start, target), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
            Assert.That(async () => await kit.Sor.RunReplayAsync("n", Start, Start, (Func<RecordedEvent, CancellationToken, ValueTask>)null!),
                Throws.ArgumentNullException.With.Property("ParamName").EqualTo("target"));
            Assert.That(async () => await kit.Sor.RunReplayAsync("n", Start.AddSeconds(1), Start, target), Throws.ArgumentException.With.Message.Contain("after it ends"));
            Assert.That(async () => await kit.Sor.RunReplayAsync("n", DateTime.SpecifyKind(Start, DateTimeKind.Unspecified), Start, target),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("start"));
            Assert.That(async () => await kit.Sor.RunReplayAsync("n", Start, Start, target,
                    new ManagedReplayOptions { MaxParallelism = 0, MaxEventsPerSecond = -1, RateLimitBurst = 0, CheckpointInterval = TimeSpan.FromSeconds(-1) }),
                Throws.TypeOf<Microsoft.Extensions.Options.OptionsValidationException>().With.Message.Contain("MaxParallelism").And.Message.Contain("MaxEventsPerSecond")
                    .And.Message.Contain("RateLimitBurst").And.Message.Contain("CheckpointInterval"));
        });
    }

    [Test]
    public async Task RunReplayAsync_DateTimeOffsets_UseTheirUtcInstant()
    {
        using var kit = new ReplayTestKit();
        var seeded = await kit.SeedAsync([0, 16]);

        var result = await kit.Sor.RunReplayAsync("dto", new DateTimeOffset(Start).ToOffset(TimeSpan.FromHours(3)), new DateTimeOffset(Start.AddSeconds(15)));

        Assert.That(result.EventsDelivered, Is.EqualTo(1));
        Assert.That(kit.PublishedSnapshot(), Is.EqualTo(new[] { seeded[0] }));
    }

    [Test]
    public async Task GetReplayCheckpointAsync_CorruptValue_ThrowsNamingTheReplay()
    {
        using var kit = new ReplayTestKit();
        await kit.Store.WriteCheckpointAsync("replay/odd", "not a checkpoint");

        Assert.That(async () => await kit.Sor.GetReplayCheckpointAsync("odd"), Throws.InvalidOperationException.With.Message.Contain("'odd'"));
        Assert.That(await kit.Sor.GetReplayCheckpointAsync("never-ran"), Is.Null);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>Counts the timers created, so a test knows the replay is waiting on the clock before it advances it.</summary>
    private sealed class ParkingClock(FakeTimeProvider inner) : TimeProvider
    {
        private int _timersCreated;

        public int TimersCreated => Volatile.Read(ref _timersCreated);

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _timersCreated);
            return inner.CreateTimer(callback, state, dueTime, period);
        }
    }

    /// <summary>A store whose writes (events and checkpoints) are lost once <see cref="Crashed"/> is set, as a killed process's would be.</summary>
    private sealed class CrashableStore(InMemoryEventStore inner) : IEventStore, ICheckpointStore
    {
        public volatile bool Crashed;

        public ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default) => inner.EnsureCreatedAsync(bucketIncrement, cancellationToken);

        public ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default) => inner.GetBucketIncrementAsync(cancellationToken);

        public ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default) =>
            Crashed ? ValueTask.CompletedTask : inner.AppendAsync(recordedEvent, cancellationToken);

        public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default) => inner.ReadBucketAsync(bucket, cancellationToken);

        public IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, CancellationToken cancellationToken = default) =>
            inner.ReadRangeAsync(fromBucket, toExclusive, cancellationToken);

        public ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default) => inner.ReadCheckpointAsync(name, cancellationToken);

        public ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default) =>
            Crashed ? ValueTask.CompletedTask : inner.WriteCheckpointAsync(name, value, cancellationToken);

        public ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default) =>
            Crashed ? ValueTask.FromResult(true) : inner.TryReplaceCheckpointAsync(name, expected, value, cancellationToken);

        public ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default) =>
            Crashed ? ValueTask.CompletedTask : inner.DeleteCheckpointAsync(name, cancellationToken);

        public IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, CancellationToken cancellationToken = default) =>
            inner.ReadCheckpointsAsync(prefix, cancellationToken);
    }
}
