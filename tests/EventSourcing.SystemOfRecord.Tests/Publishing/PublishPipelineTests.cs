using EventSourcing.SystemOfRecord.Tests.Support;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Tests.Publishing;

/// <summary>The publish pipeline, through the system of record that owns it, on the in-memory store.</summary>
public class PublishPipelineTests
{
    private readonly List<SystemOfRecord> _opened = [];
    private InMemoryEventStore _store = default!;
    private ScriptedPublisher _publisher = default!;

    [SetUp]
    public void SetUp()
    {
        _store = new InMemoryEventStore();
        _publisher = new ScriptedPublisher();
    }

    [TearDown]
    public async Task TearDown()
    {
        _publisher.Release();
        foreach (var sor in _opened)
        {
            await sor.DisposeAsync();
        }
    }

    private SystemOfRecord Open(
        PublishMode mode = PublishMode.Acknowledged,
        bool recovery = false,
        string instance = "app-1",
        TimeProvider? clock = null,
        IEventStore? store = null,
        IEventPublisher? publisher = null,
        Action<PublishRecoveryOptions>? configure = null)
    {
        PublishRecoveryOptions? recoveryOptions = null;
        if (recovery)
        {
            recoveryOptions = new PublishRecoveryOptions
            {
                RecoveryInterval = TimeSpan.FromMilliseconds(50),
                LeaseDuration = TimeSpan.FromMilliseconds(400),
                PublishTimeout = TimeSpan.FromSeconds(5),
            };
            configure?.Invoke(recoveryOptions);
        }

        var sor = new SystemOfRecord(
            store ?? _store,
            publisher ?? _publisher,
            Options.Create(new SystemOfRecordOptions { InstanceName = instance, PublishMode = mode }),
            timeProvider: clock,
            publishRecovery: recoveryOptions);
        _opened.Add(sor);
        return sor;
    }

    [Test]
    public async Task AppendAsync_Committed_ReturnsBeforeTheAckAndWhenPublishedWaitsForIt()
    {
        var sor = Open(PublishMode.Committed);
        _publisher.Hold();

        var recorded = await sor.AppendAsync("m");
        var published = sor.WhenPublishedAsync(recorded);
        await Eventually.UntilAsync(() => _publisher.Calls.Count == 1, "the pipeline sent the event");

        Assert.Multiple(() =>
        {
            Assert.That(_store.Count, Is.EqualTo(1));
            Assert.That(published.IsCompleted, Is.False, "not acknowledged yet");
            Assert.That(recorded.Instance, Is.EqualTo("app-1"));
        });
        _publisher.Release();
        await published.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(_publisher.Acknowledged.Single(), Is.EqualTo(recorded));
    }

    [Test]
    public async Task AppendAsync_Acknowledged_ReturnsOnlyAfterTheAck()
    {
        var sor = Open(PublishMode.Acknowledged);
        _publisher.Hold();

        var append = sor.AppendAsync("m").AsTask();
        await Eventually.UntilAsync(() => _publisher.Calls.Count == 1, "the pipeline sent the event");
        Assert.That(append.IsCompleted, Is.False);

        _publisher.Release();
        var recorded = await append.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(_publisher.Acknowledged, Is.EqualTo(new[] { recorded }));
    }

    [Test]
    public async Task AppendAsync_ManyCommittedAppends_KeepsThousandsInFlightNotOnePerAppender()
    {
        var sor = Open(PublishMode.Committed);
        _publisher.Hold();

        for (var i = 0; i < 3000; i++)
        {
            await sor.AppendAsync($"m{i}", key: $"k{i % 7}");
        }

        await Eventually.UntilAsync(() => _publisher.InFlight == 3000, "every event is in flight at once");
        Assert.That(sor.GetPublishStatus().InFlight, Is.EqualTo(3000));
        _publisher.Release();
        await Eventually.UntilAsync(() => sor.GetPublishStatus().Backlog == 0, "everything is acknowledged");
    }

    [Test]
    public async Task AppendAsync_ConcurrentAppendersOverManyKeys_EachKeyPublishedInAppendOrder()
    {
        var sor = Open(PublishMode.Committed);
        var appended = new List<RecordedEvent>[16];
        await Task.WhenAll(Enumerable.Range(0, 16).Select(k => Task.Run(async () =>
        {
            appended[k] = [];
            for (var i = 0; i < 200; i++)
            {
                appended[k].Add(await sor.AppendAsync($"{k}:{i}", key: $"key-{k}"));
            }
        })));

        await Eventually.UntilAsync(() => _publisher.Acknowledged.Count == 3200, "every event is acknowledged");
        for (var k = 0; k < 16; k++)
        {
            var key = $"key-{k}";
            Assert.That(_publisher.Calls.Where(e => e.Key == key).Select(e => e.EventId), Is.EqualTo(appended[k].Select(e => e.EventId)), key);
        }
    }

    [Test]
    public async Task Cursor_AnEarlierAppendStillWriting_NeverPassesItsId()
    {
        var gated = new GatedStore(_store);
        var sor = Open(PublishMode.Committed, store: gated);
        await sor.AppendAsync("warm-up");
        await Eventually.UntilAsync(() => sor.GetPublishStatus().Backlog == 0, "the warm-up is published");

        gated.HoldNext();
        var slow = sor.AppendAsync("slow").AsTask();
        await Eventually.UntilAsync(() => gated.Holding, "the slow append is writing");
        var later = await sor.AppendAsync("later");
        await Task.Yield();

        var status = sor.GetPublishStatus();
        Assert.Multiple(() =>
        {
            Assert.That(status.Cursor, Is.LessThan(later.EventId), "the cursor waits for the earlier id");
            Assert.That(_publisher.Calls.Select(e => e.Message), Does.Not.Contain("later"), "later events wait for the earlier one: ids go out in order");
        });

        gated.Release();
        var slowEvent = await slow;
        await Eventually.UntilAsync(() => sor.GetPublishStatus().Cursor >= later.EventId, "the cursor passes both");
        Assert.That(_publisher.Calls.Select(e => e.EventId).SkipWhile(id => id != slowEvent.EventId), Is.EqualTo(new[] { slowEvent.EventId, later.EventId }));
    }

    [Test]
    public async Task AppendAsync_StoreFails_NothingPublishedAndTheCursorMovesOn()
    {
        var gated = new GatedStore(_store) { FailNext = new IOException("disk full") };
        var sor = Open(PublishMode.Committed, store: gated);

        Assert.That(async () => await sor.AppendAsync("lost"), Throws.TypeOf<IOException>());
        var next = await sor.AppendAsync("next");

        await Eventually.UntilAsync(() => sor.GetPublishStatus().Cursor == next.EventId, "the cursor passes the failed id");
        Assert.That(_publisher.Calls.Select(e => e.Message), Is.EqualTo(new[] { "next" }));
    }

    [Test]
    public async Task Publish_RefusedForGood_ParksTheEventAndTheCursorMovesOn()
    {
        var sor = Open(PublishMode.Committed);
        _publisher.Hold();
        var refused = await sor.AppendAsync("too big for the broker");
        _publisher.Refuse(refused.EventId);
        var after = await sor.AppendAsync("fine");
        _publisher.Release();

        await sor.WhenPublishedAsync(after).WaitAsync(TimeSpan.FromSeconds(10));
        var parked = await ToListAsync(sor.GetParkedEventsAsync());
        var health = await new PublishLagHealthCheck(sor).CheckHealthAsync(new());

        Assert.Multiple(() =>
        {
            Assert.That(parked.Select(p => p.EventId), Is.EqualTo(new[] { refused.EventId }));
            Assert.That(parked[0].TimeBucket, Is.EqualTo(refused.TimeBucket));
            Assert.That(parked[0].Reason, Does.Contain("refused"));
            Assert.That(sor.GetPublishStatus().Cursor, Is.EqualTo(after.EventId));
            Assert.That(sor.GetPublishStatus().Parked, Is.EqualTo(1));
            Assert.That(health.Status, Is.EqualTo(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded));
            Assert.That(async () => await sor.WhenPublishedAsync(refused), Throws.TypeOf<EventPublishException>().With.Property("RecoveryScheduled").False);
        });
    }

    [Test]
    public async Task Publish_FailsForNow_RetriesWithBackoffAndPublishesEachOnceInOrder()
    {
        var sor = Open(PublishMode.Committed);
        _publisher.Hold();
        var first = await sor.AppendAsync("first", key: "k");
        var second = await sor.AppendAsync("second", key: "k");
        _publisher.FailTransiently(first.EventId, times: 2);
        _publisher.FailTransiently(second.EventId, times: 2);

        // Both sent before either fails: a dispatcher that woke late for the second would find the first already
        // failed, resend it alone, and the rounds would no longer pair up.
        await Eventually.UntilAsync(() => _publisher.Calls.Count == 2, "both events sent");
        _publisher.Release();

        await sor.WhenPublishedAsync(second).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Multiple(() =>
        {
            Assert.That(_publisher.Acknowledged.Select(e => e.Message), Is.EquivalentTo(new[] { "first", "second" }));
            Assert.That(_publisher.Calls.Select(e => e.Message), Is.EqualTo(new[] { "first", "second", "first", "second", "first", "second" }), "each round resends in id order");
            Assert.That(_publisher.Calls, Has.Count.EqualTo(6), "two failed attempts each, then one that succeeded");
            Assert.That(sor.GetPublishStatus().State, Is.EqualTo(PublishState.Running));
        });
    }

    [Test]
    public async Task AppendAsync_AcknowledgedAndThePublishFails_ThrowsButThePipelineStillPublishesIt()
    {
        var sor = Open(PublishMode.Acknowledged);
        _publisher.FailEverything = new ScriptedPublisher.TransientFailure("all brokers down");

        var ex = Assert.ThrowsAsync<EventPublishException>(async () => await sor.AppendAsync("m"));
        _publisher.FailEverything = null;

        await sor.WhenPublishedAsync(ex!.Event).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Multiple(() =>
        {
            Assert.That(ex.RecoveryScheduled, Is.False, "without publish recovery a crash would lose the retry");
            Assert.That(_publisher.Acknowledged.Single().EventId, Is.EqualTo(ex.Event.EventId));
        });
    }

    [Test]
    public async Task WhenPublishedAsync_DisposedWhileTheBrokerIsAway_SaysPublishRecoveryPublishesIt()
    {
        var sor = Open(PublishMode.Committed, recovery: true);
        _publisher.FailEverything = new ScriptedPublisher.TransientFailure("broker away");
        var recorded = await sor.AppendAsync("m");
        var waiting = sor.WhenPublishedAsync(recorded);
        await Eventually.UntilAsync(() => sor.GetPublishStatus().State == PublishState.Retrying, "the publish failed for now");

        await sor.DisposeAsync();

        var ex = Assert.ThrowsAsync<EventPublishException>(async () => await waiting);
        Assert.That(ex!.RecoveryScheduled, Is.True, "stored, not published, not refused: the next start's catch-up publishes it");
    }

    [Test]
    public async Task Restart_WithRecovery_CatchesUpOnItsOwnUnpublishedEventsOnly()
    {
        var first = Open(PublishMode.Committed, recovery: true, instance: "app-1");
        _publisher.FailEverything = new ScriptedPublisher.TransientFailure("broker down");
        var unpublished = new List<RecordedEvent>();
        for (var i = 0; i < 5; i++)
        {
            unpublished.Add(await first.AppendAsync($"m{i}"));
        }

        // Another instance's event in the same buckets: its own pipeline publishes it, not this one's catch-up.
        var other = TimeUuid.Create();
        await _store.AppendAsync(new RecordedEvent(first.GetBucket(other.GetTimestamp()), other, "events", null, "other's") { Instance = "app-2" });
        await first.DisposeAsync();
        Assert.That(_publisher.Acknowledged, Is.Empty);

        var publisher = new ScriptedPublisher();
        var second = Open(PublishMode.Committed, recovery: true, instance: "app-1", publisher: publisher);
        var fresh = await second.AppendAsync("after restart");
        await second.WhenPublishedAsync(fresh).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.That(publisher.Calls.Select(e => e.EventId), Is.EqualTo(unpublished.Select(e => e.EventId).Append(fresh.EventId)), "caught-up events first, in id order, then the new one");
    }

    [Test]
    public async Task Restart_ClockWentBack_NewIdsFollowTheLastRunsAndNothingIsStranded()
    {
        var late = new FakeTimeProvider(new DateTimeOffset(2024, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var first = Open(PublishMode.Committed, recovery: true, clock: late);
        _publisher.FailEverything = new ScriptedPublisher.TransientFailure("broker down");
        var stranded = await first.AppendAsync("appended at noon");
        await first.DisposeAsync();

        var early = new FakeTimeProvider(new DateTimeOffset(2024, 6, 1, 11, 0, 0, TimeSpan.Zero)); // an hour behind
        var publisher = new ScriptedPublisher();
        var second = Open(PublishMode.Committed, recovery: true, clock: early, publisher: publisher);
        var fresh = await second.AppendAsync("appended with the clock behind");
        await second.WhenPublishedAsync(fresh).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Multiple(() =>
        {
            Assert.That(fresh.EventId, Is.GreaterThan(stranded.EventId), "the generator was floored at the last run's reservation");
            Assert.That(publisher.Calls.Select(e => e.EventId), Is.EqualTo(new[] { stranded.EventId, fresh.EventId }));
        });
    }

    [Test]
    public async Task Start_SecondLiveProcessWithTheSameInstanceName_IsRefusedClearly()
    {
        // The twin is refused when it sees the holder renew (every quarter lease) before a whole lease passed. At 400 ms,
        // a renewal stalled on a loaded machine and the twin took over; 5 s leaves room and still ends in about 1.5 s.
        var live = Open(PublishMode.Committed, recovery: true, instance: "orders-1", configure: o => o.LeaseDuration = TimeSpan.FromSeconds(5));
        await live.AppendAsync("m");

        var twin = Open(PublishMode.Committed, recovery: true, instance: "orders-1", configure: o => o.LeaseDuration = TimeSpan.FromSeconds(5));

        Assert.That(
            async () => await twin.AppendAsync("m"),
            Throws.TypeOf<InstanceConflictException>().With.Message.Contains("orders-1").And.Message.Contains("InstanceName"));
        Assert.That(_store.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Start_LastHolderDiedWithoutLettingGo_TakesOverAfterTheLease()
    {
        // What a killed process leaves: a live record nobody renews any more.
        var record = new PublishCursorRecord("dead-process", 7, TimeUuid.Min(DateTimeOffset.UtcNow.AddMinutes(-1)), DateTimeOffset.UtcNow, Released: false);
        await _store.WriteCheckpointAsync(PublishCursorRecord.NameOf("app-1"), record.Format());

        var sor = Open(PublishMode.Committed, recovery: true);
        var recorded = await sor.AppendAsync("m");
        await sor.WhenPublishedAsync(recorded).WaitAsync(TimeSpan.FromSeconds(20));

        var now = PublishCursorRecord.Parse("x", (await _store.ReadCheckpointAsync(PublishCursorRecord.NameOf("app-1")))!);
        Assert.That(now.Owner, Is.Not.EqualTo("dead-process"));
    }

    [Test]
    public async Task Running_AnotherProcessTakesTheNameOver_ThisOneIsFencedAndRefusesAppends()
    {
        var sor = Open(PublishMode.Committed, recovery: true);
        await sor.AppendAsync("m");
        var name = PublishCursorRecord.NameOf("app-1");
        var current = PublishCursorRecord.Parse(name, (await _store.ReadCheckpointAsync(name))!);
        await _store.WriteCheckpointAsync(name, (current with { Owner = "usurper", Sequence = current.Sequence + 100 }).Format());

        await Eventually.UntilAsync(() => sor.GetPublishStatus().State == PublishState.Fenced, "the next cursor write finds the record taken");

        Assert.That(async () => await sor.AppendAsync("m"), Throws.TypeOf<InstanceConflictException>());
        Assert.That(_store.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Dispose_WithRecovery_LetsGoSoTheNextStartNeedNotWait()
    {
        var first = Open(PublishMode.Committed, recovery: true, configure: o => o.LeaseDuration = TimeSpan.FromMinutes(5));
        await first.AppendAsync("m");
        await first.DisposeAsync();

        var second = Open(PublishMode.Committed, recovery: true, configure: o => o.LeaseDuration = TimeSpan.FromMinutes(5));
        var append = second.AppendAsync("m").AsTask();

        Assert.That(await Task.WhenAny(append, Task.Delay(TimeSpan.FromSeconds(20))), Is.SameAs(append), "no five-minute wait for a lease that was let go");
    }

    [Test]
    public async Task Append_Indeterminate_RecordedAndPublishedWhetherTheFirstWriteLandedOrNot()
    {
        var store = new GatedStore(_store);
        var sor = Open(PublishMode.Committed, store: store);

        store.IndeterminateNext = true;
        store.WriteIndeterminate = true;
        var landed = Assert.ThrowsAsync<IndeterminateAppendException>(async () => await sor.AppendAsync("landed"))!.Event;
        store.IndeterminateNext = true;
        store.WriteIndeterminate = false;
        var lost = Assert.ThrowsAsync<IndeterminateAppendException>(async () => await sor.AppendAsync("lost"))!.Event;
        var after = await sor.AppendAsync("after");

        await sor.WhenPublishedAsync(after).WaitAsync(TimeSpan.FromSeconds(20));
        await sor.WhenPublishedAsync(lost).WaitAsync(TimeSpan.FromSeconds(20));
        var stored = new List<RecordedEvent>();
        await foreach (var e in _store.ReadBucketAsync(lost.TimeBucket))
        {
            stored.Add(e);
        }

        Assert.Multiple(() =>
        {
            Assert.That(_publisher.Calls.Select(e => e.Message), Is.EqualTo(new[] { "landed", "lost", "after" }), "in id order, each once");
            Assert.That(stored.Select(e => e.EventId), Does.Contain(lost.EventId), "the write that never landed was made again under its id");
            Assert.That(landed.Instance, Is.EqualTo("app-1"));
        });
    }

    [Test]
    public async Task AppendAsync_CommittedWhileThePublisherIsAway_MemoryStaysBoundedAndEverythingIsPublishedOnceInOrder()
    {
        var sor = Open(PublishMode.Committed);
        _publisher.FailEverything = new ScriptedPublisher.TransientFailure("broker away");
        var appended = new List<RecordedEvent>(150_000);
        var largestBacklog = 0;
        for (var i = 0; i < 150_000; i++)
        {
            appended.Add(await sor.AppendAsync($"m{i}", key: $"k{i % 32}"));
            largestBacklog = Math.Max(largestBacklog, sor.GetPublishStatus().Backlog);
        }

        _publisher.FailEverything = null;
        await sor.WhenPublishedAsync(appended[^1]).WaitAsync(TimeSpan.FromSeconds(60));

        var acknowledged = _publisher.Acknowledged;
        Assert.Multiple(() =>
        {
            Assert.That(largestBacklog, Is.LessThanOrEqualTo(65_536 + 2), "stored, unsent events fold into ranges read back from the store");
            Assert.That(acknowledged.Select(e => e.EventId).Distinct().Count(), Is.EqualTo(150_000), "every event published");
            Assert.That(acknowledged, Has.Count.EqualTo(150_000), "none twice");
            Assert.That(_publisher.Calls.Where(e => e.Key == "k7").Select(e => e.EventId).Distinct(), Is.EqualTo(appended.Where(e => e.Key == "k7").Select(e => e.EventId)), "each key's first sends in append order");
        });
    }

    [Test]
    public async Task RepublishDateRangeAsync_GoesThroughThePipelineWithManyInFlight()
    {
        var sor = Open(PublishMode.Committed);
        for (var i = 0; i < 500; i++)
        {
            await sor.AppendAsync($"m{i}");
        }

        await Eventually.UntilAsync(() => _publisher.Acknowledged.Count == 500, "the live publishes");
        _publisher.Hold();
        var now = DateTimeOffset.UtcNow;
        var republish = sor.RepublishDateRangeAsync(now.AddMinutes(-5), now.AddMinutes(5));
        await Eventually.UntilAsync(() => _publisher.InFlight == 500, "the whole range in flight at once");
        _publisher.Release();

        Assert.That(await republish, Is.EqualTo(500));
        Assert.That(_publisher.Calls.Skip(500).Select(e => e.Message), Is.EqualTo(Enumerable.Range(0, 500).Select(i => $"m{i}")), "sent in bucket and id order");
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>A store whose next append can be held mid-write, fail, or end indeterminate (written or not).</summary>
    private sealed class GatedStore(InMemoryEventStore inner) : IEventStore, ICheckpointStore
    {
        private TaskCompletionSource? _next;
        private TaskCompletionSource? _held;

        public Exception? FailNext { get; set; }

        public bool IndeterminateNext { get; set; }

        public bool WriteIndeterminate { get; set; }

        public bool Holding => Volatile.Read(ref _held) is { Task.IsCompleted: false };

        public void HoldNext() => _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _held?.TrySetResult();

        public async ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _next, null) is { } hold)
            {
                Volatile.Write(ref _held, hold);
                await hold.Task;
            }

            if (FailNext is { } failure)
            {
                FailNext = null;
                throw failure;
            }

            if (IndeterminateNext)
            {
                IndeterminateNext = false;
                if (WriteIndeterminate)
                {
                    await inner.AppendAsync(recordedEvent, cancellationToken);
                }

                throw new IndeterminateAppendException(recordedEvent, new TimeoutException("write timed out"));
            }

            await inner.AppendAsync(recordedEvent, cancellationToken);
        }

        public ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default) => inner.EnsureCreatedAsync(bucketIncrement, cancellationToken);

        public ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default) => inner.GetBucketIncrementAsync(cancellationToken);

        public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default) => inner.ReadBucketAsync(bucket, cancellationToken);

        public IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, CancellationToken cancellationToken = default) =>
            inner.ReadRangeAsync(fromBucket, toExclusive, cancellationToken);

        public ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default) => inner.ReadCheckpointAsync(name, cancellationToken);

        public ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default) => inner.WriteCheckpointAsync(name, value, cancellationToken);

        public ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default) =>
            inner.TryReplaceCheckpointAsync(name, expected, value, cancellationToken);

        public ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteCheckpointAsync(name, cancellationToken);

        public IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, CancellationToken cancellationToken = default) =>
            inner.ReadCheckpointsAsync(prefix, cancellationToken);
    }
}
