using System.Globalization;
using EventSourcing.SystemOfRecord.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Tests.Publishing;

/// <summary>
/// The publish pipeline under faults a review found: a clock behind across two restarts, an upgrade interrupted, a
/// publisher away in Acknowledged mode, disposal and fencing while callers wait, an ambiguous cursor write.
/// </summary>
public class PublishPipelineFaultTests
{
    private static SystemOfRecord Open(
        IEventStore store,
        IEventPublisher publisher,
        PublishMode mode = PublishMode.Committed,
        bool recovery = true,
        TimeProvider? clock = null,
        TimeSpan? publishTimeout = null,
        string instance = "app-1",
        ILogger<SystemOfRecord>? logger = null)
    {
        var options = recovery
            ? new PublishRecoveryOptions
            {
                RecoveryInterval = TimeSpan.FromMilliseconds(50),
                LeaseDuration = TimeSpan.FromMilliseconds(400),
                PublishTimeout = publishTimeout ?? TimeSpan.FromSeconds(5),
            }
            : null;
        return new SystemOfRecord(
            store,
            publisher,
            Options.Create(new SystemOfRecordOptions { InstanceName = instance, PublishMode = mode }),
            timeProvider: clock,
            logger: logger,
            publishRecovery: options);
    }

    [Test]
    public async Task Restart_ClockBehindTwice_TheFirstRunsEventIsStillCaughtUp()
    {
        var store = new InMemoryEventStore();
        var noon = new FakeTimeProvider(new DateTimeOffset(2024, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var down = new ScriptedPublisher { FailEverything = new ScriptedPublisher.TransientFailure("broker down") };
        var first = Open(store, down, clock: noon);
        var stranded = await first.AppendAsync("appended at noon");
        await first.DisposeAsync();

        // Restart on a node whose clock is an hour behind; broker still down; no append; clean stop.
        var eleven = new FakeTimeProvider(new DateTimeOffset(2024, 6, 1, 11, 0, 0, TimeSpan.Zero));
        var down2 = new ScriptedPublisher { FailEverything = new ScriptedPublisher.TransientFailure("broker down") };
        var second = Open(store, down2, clock: eleven);
        await second.StartAsync();
        await second.DisposeAsync(); // its cursor writes must not lower the reservation the first run left

        var up = new ScriptedPublisher();
        var third = Open(store, up, clock: eleven);
        var fresh = await third.AppendAsync("after the second restart");
        await third.WhenPublishedAsync(fresh).WaitAsync(TimeSpan.FromSeconds(20));
        await third.DisposeAsync();
        Assert.Multiple(() =>
        {
            Assert.That(up.Calls.Select(e => e.EventId), Is.EqualTo(new[] { stranded.EventId, fresh.EventId }), "the noon event, stored and never published, is caught up first");
            Assert.That(fresh.EventId, Is.GreaterThan(stranded.EventId), "ids never go back");
        });
    }

    [Test]
    public async Task Upgrade_LegacyCatchUpInterruptedByARestart_TheNextStartFinishesIt()
    {
        var store = new InMemoryEventStore();
        var increment = TimeSpan.FromSeconds(15);
        await store.EnsureCreatedAsync(increment);
        var now = DateTimeOffset.UtcNow;
        var legacy = new List<RecordedEvent>();
        for (var i = 0; i < 5; i++)
        {
            var id = TimeUuid.Create(now.AddMinutes(-30).AddSeconds(i));
            var e = new RecordedEvent(TimeBuckets.Floor(id.GetTimestamp().UtcDateTime, increment.Ticks), id, "events", null, $"legacy{i}");
            await store.AppendAsync(e);
            legacy.Add(e);
        }

        await store.WriteCheckpointAsync("publish-watermark/app-1", now.AddHours(-1).ToString("O", CultureInfo.InvariantCulture));

        var down = new ScriptedPublisher { FailEverything = new ScriptedPublisher.TransientFailure("broker down at upgrade time") };
        var first = Open(store, down);
        await first.StartAsync();
        await Eventually.UntilAsync(() => down.Calls.Count > 0, "the legacy catch-up tried");
        await first.DisposeAsync();

        var up = new ScriptedPublisher();
        var second = Open(store, up);
        var fresh = await second.AppendAsync("fresh");
        await Eventually.UntilAsync(() => up.Acknowledged.Any(e => e.EventId == fresh.EventId), "fresh published", TimeSpan.FromSeconds(10));
        await second.DisposeAsync();
        Assert.That(up.Calls.Select(e => e.Message), Is.SupersetOf(legacy.Select(e => e.Message)), "legacy events never published by any run");
    }

    [Test]
    public async Task AppendAsync_AcknowledgedWithTheBrokerAway_BacklogFoldsOnceAppendersStopWaiting()
    {
        var store = new InMemoryEventStore();
        var down = new ScriptedPublisher { FailEverything = new ScriptedPublisher.TransientFailure("broker away") };
        var sor = Open(store, down, mode: PublishMode.Acknowledged, publishTimeout: TimeSpan.FromMilliseconds(1));
        await sor.StartAsync();
        var largest = 0;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 2400; i++)
            {
                try
                {
                    await sor.AppendAsync("m");
                }
                catch (EventPublishException)
                {
                }

                var backlog = sor.GetPublishStatus().Backlog;
                int seen;
                while ((seen = Volatile.Read(ref largest)) < backlog && Interlocked.CompareExchange(ref largest, backlog, seen) != seen)
                {
                }
            }
        })));
        down.FailEverything = null;
        await sor.DisposeAsync();
        // The ledger folds when a committed write finds it past 65 536 entries; until the next one does, each of the 32
        // appenders may have issued one more id. Without folding it would reach 76 800.
        Assert.That(largest, Is.LessThanOrEqualTo(65_536 + 32), "stored, unsent events should fold into ranges");
    }

    [Test]
    public async Task Dispose_WhileARepublishRetries_TheRepublishEndsWithAnError()
    {
        var store = new InMemoryEventStore();
        var publisher = new ScriptedPublisher();
        var sor = Open(store, publisher, recovery: false);
        await sor.AppendAsync("m");
        await Eventually.UntilAsync(() => publisher.Acknowledged.Count == 1, "live publish");
        publisher.FailEverything = new ScriptedPublisher.TransientFailure("broker away");

        var now = DateTimeOffset.UtcNow;
        var republish = sor.RepublishDateRangeAsync(now.AddMinutes(-5), now.AddMinutes(5));
        await Eventually.UntilAsync(() => publisher.Calls.Count >= 2, "the republish's first attempt failed");
        await sor.DisposeAsync();

        var finished = await Task.WhenAny(republish, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.That(finished, Is.SameAs(republish), "RepublishDateRangeAsync (no token) should end, with an error, once the system of record is disposed");
    }

    [Test]
    public async Task Dispose_WhileATransactionalRepublishRetries_TheRepublishEndsWithAnError()
    {
        var store = new InMemoryEventStore();
        var publisher = new TransactionalPublisher();
        var sor = Open(store, publisher);
        var recorded = await sor.AppendAsync("m");
        await sor.WhenPublishedAsync(recorded);
        publisher.Failing = true;

        var now = DateTimeOffset.UtcNow;
        var republish = sor.RepublishDateRangeAsync(now.AddMinutes(-5), now.AddMinutes(5));
        await Eventually.UntilAsync(() => publisher.Failed >= 1, "the republish's transaction failed for now");
        await sor.DisposeAsync();

        var finished = await Task.WhenAny(republish, Task.Delay(Eventually.DefaultTimeout));
        Assert.That(finished, Is.SameAs(republish), "RepublishDateRangeAsync (no token) should end, with an error, once the system of record is disposed");
        Assert.That(async () => await republish, Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public async Task Dispose_TransactionFailsWhileTheDrainWaits_DrainEndsWithoutWaitingOutItsTimeout()
    {
        var store = new InMemoryEventStore();
        var publisher = new TransactionalPublisher { Hold = true };
        var logger = new EventIdLogger();
        var sor = Open(store, publisher, logger: logger);
        await sor.AppendAsync("m");
        await Eventually.UntilAsync(() => publisher.Holding, "the event's transaction is under way");

        var disposing = sor.DisposeAsync().AsTask();
        await Eventually.UntilAsync(() => sor.GetPublishStatus().State == PublishState.Stopped, "the disposal waits for the drain");
        publisher.Failing = true;
        publisher.Release(); // the transaction fails for now: a failing publisher counts as drained
        await disposing;

        Assert.That(logger.EventIds, Does.Not.Contain(1032), "the drain ended when the transaction failed, not at its 10 s timeout (log 1032)");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Fenced_WhileAnAppendWaitsForTheReservation_TheAppendFails(bool blocking)
    {
        var inner = new InMemoryEventStore();
        var store = new ScriptedStore(inner);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var publisher = new ScriptedPublisher();
        var sor = Open(store, publisher, clock: clock);
        await sor.StartAsync();
        await Eventually.UntilAsync(() => store.Replaces >= 3, "the housekeeper's first write");
        store.HoldReplacesThenRefuse = true; // the next cursor write finds the record taken over

        clock.Advance(TimeSpan.FromMinutes(5)); // ids are now past the reservation; the renewal is due
        await Eventually.UntilAsync(() => store.Holding, "the housekeeper's write is under way");
        var append = blocking
            ? Task.Factory.StartNew(() => sor.Append("needs a reservation"), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : sor.AppendAsync("needs a reservation").AsTask();
        await Eventually.UntilAsync(() => sor.GetPublishStatus().Backlog >= 1, "the append issued its id and waits for the reservation");
        store.OpenHold();
        await Eventually.UntilAsync(() => sor.GetPublishStatus().State == PublishState.Fenced, "fenced");

        var finished = await Task.WhenAny(append, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.That(finished, Is.SameAs(append), "the append fails, it does not hang");
        Assert.That(async () => await append, Throws.TypeOf<InstanceConflictException>());
    }

    [Test]
    public async Task Dispose_CommittedEventBehindAWriteInProgress_IsStillPublished()
    {
        var inner = new InMemoryEventStore();
        var store = new ScriptedStore(inner);
        var publisher = new ScriptedPublisher();
        var sor = Open(store, publisher, recovery: false);
        await sor.AppendAsync("warm-up");
        store.HoldNextAppend();
        var slow = sor.AppendAsync("slow").AsTask();
        await Eventually.UntilAsync(() => store.Holding, "slow is writing");
        var later = await sor.AppendAsync("later");

        var disposing = sor.DisposeAsync().AsTask();
        await Eventually.UntilAsync(() => sor.GetPublishStatus().State == PublishState.Stopped, "the disposal is draining");
        store.OpenHold();
        await slow;
        await disposing;
        Assert.That(publisher.Calls.Select(e => e.Message), Is.EqualTo(new[] { "warm-up", "slow", "later" }), "the drain waits for the write in progress, then publishes what follows it");
    }

    [Test]
    public async Task Dispose_DuringTheStart_LetsGoOfTheLease()
    {
        var inner = new InMemoryEventStore();
        var store = new ScriptedStore(inner) { HoldFirstRead = true };
        var sor = Open(store, new ScriptedPublisher());
        var start = sor.StartAsync();
        await Eventually.UntilAsync(() => store.Reads >= 1, "the start is reading the lease");
        await sor.DisposeAsync();
        store.ReleaseFirstRead(); // the start goes on only once the disposal began, however slow the machine
        Assert.That(async () => await start, Throws.TypeOf<ObjectDisposedException>());
        var next = Open(inner, new ScriptedPublisher(), clock: null);
        Exception? refused = null;
        try
        {
            await next.StartAsync();
        }
        catch (Exception ex)
        {
            refused = ex;
        }

        await next.DisposeAsync();
        Assert.That(refused, Is.Null, "a disposed system of record does not keep the instance name");
    }

    [Test]
    public async Task CursorWrite_AppliedButReportedFailed_DoesNotFenceItself()
    {
        var inner = new InMemoryEventStore();
        var store = new ScriptedStore(inner);
        var sor = Open(store, new ScriptedPublisher());
        await sor.StartAsync();
        await Eventually.UntilAsync(() => store.Replaces >= 3, "housekeeping runs");
        store.ApplyThenThrowOnce = true;
        await sor.AppendAsync("m"); // moves the cursor, so the next round writes
        var replaces = store.Replaces;
        await Eventually.UntilAsync(() => store.Replaces >= replaces + 3, "a few more cursor writes, the ambiguous one among them");
        Assert.That(sor.GetPublishStatus().State, Is.Not.EqualTo(PublishState.Fenced), "nobody else took the name");
        Assert.That(async () => await sor.AppendAsync("still mine"), Throws.Nothing);
        await sor.DisposeAsync();
    }

    /// <summary>An exactly-once publisher whose transactions commit, or fail for now while <see cref="Failing"/>.</summary>
    private sealed class TransactionalPublisher : ITransactionalEventPublisher
    {
        private int _failed;

        public volatile bool Failing;

        private TaskCompletionSource? _held;

        public int Failed => Volatile.Read(ref _failed);

        /// <summary>The next transaction waits for <see cref="Release"/>, then commits or fails.</summary>
        public bool Hold { get; set; }

        public bool Holding => Volatile.Read(ref _held) is { Task.IsCompleted: false };

        public void Release() => Volatile.Read(ref _held)?.TrySetResult();

        public bool IsTransactional => true;

        public ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken) => throw new NotSupportedException("transactions only");

        public ValueTask<string?> InitializeTransactionsAsync(string instanceName, CancellationToken cancellationToken) => ValueTask.FromResult<string?>(null);

        public async ValueTask PublishTransactionAsync(IReadOnlyList<RecordedEvent> events, string cursor, CancellationToken cancellationToken)
        {
            if (Hold)
            {
                Hold = false;
                var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _held, held);
                await held.Task;
            }

            await Outcome();
        }

        private ValueTask Outcome()
        {
            if (!Failing)
            {
                return ValueTask.CompletedTask;
            }

            Interlocked.Increment(ref _failed);
            return ValueTask.FromException(new ScriptedPublisher.TransientFailure("broker away"));
        }
    }

    /// <summary>Remembers the event id of every log entry.</summary>
    private sealed class EventIdLogger : ILogger<SystemOfRecord>
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<int> _ids = new();

        public IReadOnlyList<int> EventIds => [.. _ids];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => _ids.Enqueue(eventId.Id);
    }

    private sealed class ScriptedStore(InMemoryEventStore inner) : IEventStore, ICheckpointStore
    {
        private int _replaces;
        private TaskCompletionSource? _nextAppend;
        private TaskCompletionSource? _held;
        private readonly TaskCompletionSource _firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reads;

        public int Replaces => Volatile.Read(ref _replaces);

        public int Reads => Volatile.Read(ref _reads);

        public bool HoldReplacesThenRefuse { get; set; }

        public bool ApplyThenThrowOnce { get; set; }

        /// <summary>The first checkpoint read waits for <see cref="ReleaseFirstRead"/> (or its cancellation).</summary>
        public bool HoldFirstRead { get; set; }

        public bool Holding => Volatile.Read(ref _held) is { Task.IsCompleted: false };

        public void HoldNextAppend() => _nextAppend = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OpenHold() => _held?.TrySetResult();

        public void ReleaseFirstRead() => _firstRead.TrySetResult();

        public async ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _nextAppend, null) is { } hold)
            {
                Volatile.Write(ref _held, hold);
                await hold.Task;
            }

            await inner.AppendAsync(recordedEvent, cancellationToken);
        }

        public ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default) => inner.EnsureCreatedAsync(bucketIncrement, cancellationToken);

        public ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default) => inner.GetBucketIncrementAsync(cancellationToken);

        public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default) => inner.ReadBucketAsync(bucket, cancellationToken);

        public IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, CancellationToken cancellationToken = default) => inner.ReadRangeAsync(fromBucket, toExclusive, cancellationToken);

        public async ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _reads) == 1 && HoldFirstRead)
            {
                await _firstRead.Task.WaitAsync(cancellationToken);
            }

            return await inner.ReadCheckpointAsync(name, cancellationToken);
        }

        public ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default) => inner.WriteCheckpointAsync(name, value, cancellationToken);

        public async ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _replaces);
            if (HoldReplacesThenRefuse)
            {
                var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _held, hold);
                await hold.Task;
                if (await inner.ReadCheckpointAsync(name, cancellationToken) is { } taken)
                {
                    // Another process really took the name over.
                    await inner.WriteCheckpointAsync(name, (PublishCursorRecord.Parse(name, taken) with { Owner = "usurper", Sequence = 999 }).Format(), cancellationToken);
                }

                return false;
            }

            if (ApplyThenThrowOnce)
            {
                ApplyThenThrowOnce = false;
                await inner.TryReplaceCheckpointAsync(name, expected, value, cancellationToken);
                throw new TimeoutException("the write timed out after the store applied it");
            }

            return await inner.TryReplaceCheckpointAsync(name, expected, value, cancellationToken);
        }

        public ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteCheckpointAsync(name, cancellationToken);

        public IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, CancellationToken cancellationToken = default) => inner.ReadCheckpointsAsync(prefix, cancellationToken);
    }
}
