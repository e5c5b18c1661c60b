using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

/// <summary>How a <see cref="PublishPipeline"/> runs.</summary>
internal sealed record PublishPipelineSettings
{
    public required string InstanceName { get; init; }

    public PublishMode Mode { get; init; } = PublishMode.Acknowledged;

    public int MaxInFlight { get; init; } = SystemOfRecordOptions.DefaultMaxPublishesInFlight;

    /// <summary>How long an <see cref="PublishMode.Acknowledged"/> append waits for its publish; infinite waits for the first outcome.</summary>
    public TimeSpan AppendTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>Publish recovery: the cursor, the lease and the id reservation live in the store, and a restart catches up.</summary>
    public PublishRecoveryOptions? Recovery { get; init; }

    public static readonly TimeSpan DefaultMaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between two attempts at a failing publish.</summary>
    public TimeSpan MaxBackoff { get; init; } = DefaultMaxBackoff;

    /// <summary>How long disposal waits for what is committed to be published before it leaves the rest to the next start.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The one caller of <see cref="IEventPublisher"/> in the core. Appends register their event's id here before the store
/// write (<see cref="Issue"/>) and report the write's outcome; a single dispatcher sends committed events in id order
/// with many in flight, and the ledger's cursor moves over the contiguous prefix the publisher acknowledged. Replays,
/// republishes and repairs send through <see cref="SendAsync(IReadOnlyList{RecordedEvent}, CancellationToken)"/> and share the same in-flight budget, retries and metrics.
/// </summary>
/// <remarks>
/// <para>
/// With publish recovery, the cursor, a lease on the instance name and a reservation of the highest time ids may carry
/// are kept in the store; a start takes the lease, floors the id generator at the reservation (so a clock that went back
/// never reuses a time the last run may have issued) and reads back, as a <see cref="StoreRange"/> ahead of every new
/// append, this instance's events between the cursor and the reservation.
/// </para>
/// <para>
/// With a transactional publisher (<see cref="ITransactionalEventPublisher.IsTransactional"/>) the dispatcher sends
/// batches, one transaction at a time, each holding the cursor it reaches: a consumer reading committed records sees
/// every stored event exactly once.
/// </para>
/// </remarks>
internal sealed partial class PublishPipeline : IAsyncDisposable, IPublishCallback
{
    private const int MaxTransactionEvents = 1000;
    private const int RangeChunk = 4096;

    // The ledger folds stored, unsent events into ranges read back from the store once it holds this many entries
    // (a publisher away for long), keeping a quarter of them in memory for when it returns.
    private const int FoldThreshold = 65_536;
    private const string LegacyWatermarkPrefix = "publish-watermark/";

    private string LegacyWatermarkName => LegacyWatermarkPrefix + _settings.InstanceName;

    // Refused (parked) ids remembered for WhenPublishedAsync, newest first out last: enough for any caller that
    // waits on a recent event, bounded however many are parked.
    private const int UnpublishedRemembered = 10_000;

    // A replay's send gives up after this many attempts (the publisher already retried within its own timeout each
    // time): the replay fails with the error and resumes from its checkpoint, instead of hanging through an outage.
    private const int MaxExternalAttempts = 4;

    // Attempts at an event whose failure no provider classified before it counts as refused for good.
    private const int MaxUnclassifiedFailures = 10;

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    // An indeterminate write is looked up after this long: a write the store could not confirm lands within its timeout or not at all.
    private static readonly TimeSpan IndeterminateSettle = TimeSpan.FromSeconds(2);

    private readonly IEventStore _store;
    private readonly IEventPublisher _publisher;
    private readonly ITransactionalEventPublisher? _transactions;
    private readonly ICallbackEventPublisher? _callbacks;
    private readonly ICheckpointStore? _checkpoints;
    private readonly PublishPipelineSettings _settings;
    private readonly TimeUuidGenerator _ids;
    private readonly long _incrementTicks;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly InstanceLease? _lease;
    private readonly SystemOfRecordMetrics _metrics;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Queue<ExternalSend> _external = new();
    private readonly SortedDictionary<TimeUuid, List<TaskCompletionSource>> _cursorWaiters = [];
    private readonly Dictionary<TimeUuid, Exception> _unpublished = [];
    private readonly Queue<TimeUuid> _unpublishedOrder = new();
    private int _countAfterFold;
    private int _reservationWanted;
    private TimeUuid? _legacyThrough;

    private PublishLedger _ledger = new(default);
    private PublishState _state = PublishState.NotStarted;
    private Exception? _fault;
    private int _inFlight;
    private bool _retrying;
    private int _retryRound;
    private bool _dispatcherWaiting;
    private long _parked;
    private long _lastIssuedTicks;
    private long _reservedUntilTicks = long.MaxValue;
    private TaskCompletionSource _reservationWritten = NewSignal();
    private TaskCompletionSource? _drained;
    private Task _dispatcher = Task.CompletedTask;
    private Task _housekeeper = Task.CompletedTask;

    public PublishPipeline(
        IEventStore store,
        IEventPublisher publisher,
        PublishPipelineSettings settings,
        TimeUuidGenerator ids,
        long incrementTicks,
        TimeProvider clock,
        ILogger logger,
        SystemOfRecordMetrics metrics)
    {
        _store = store;
        _metrics = metrics;
        _publisher = publisher;
        _transactions = publisher is ITransactionalEventPublisher { IsTransactional: true } transactional ? transactional : null;
        _callbacks = publisher as ICallbackEventPublisher;
        _settings = settings;
        _ids = ids;
        _incrementTicks = incrementTicks;
        _clock = clock;
        _logger = logger;
        if (settings.Recovery is { } recovery)
        {
            _checkpoints = store as ICheckpointStore ?? throw new InvalidOperationException(
                $"Publish recovery keeps its cursor in the store, and {store.GetType().Name} does not implement ICheckpointStore.");
            _lease = new InstanceLease(_checkpoints, settings.InstanceName, recovery.LeaseDuration, clock, logger);
        }
    }

    public string InstanceName => _settings.InstanceName;

    public bool IsDurable => _lease is not null;

    /// <summary>
    /// Takes the instance (with publish recovery: the lease, the cursor, the reservation and the catch-up range) and
    /// starts the dispatcher. Called once, before the first <see cref="Issue"/>.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var cursor = TimeUuid.Min(now);
        StoreRange? catchUp = null;
        if (_lease is not null)
        {
            var record = await _lease.ClaimAsync(cursor, cancellationToken).ConfigureAwait(false);
            cursor = record.Cursor;
            if (_transactions is not null
                && await _transactions.InitializeTransactionsAsync(_settings.InstanceName, cancellationToken).ConfigureAwait(false) is { } committed
                && TimeUuid.TryParse(committed, out var committedCursor)
                && committedCursor > cursor)
            {
                cursor = committedCursor; // the broker's cursor was committed with the records: it is the exact one
            }

            // Ids of the last run are at most its reservation: floor the generator there and read back what lies between.
            var reservedBefore = record.ReservedUntil > cursor.GetTimestamp() ? record.ReservedUntil : cursor.GetTimestamp();
            _ids.Floor(reservedBefore);
            var through = TimeUuid.Max(reservedBefore);
            if (through > cursor)
            {
                catchUp = new StoreRange(cursor, through);
            }

            // An upgrade from the previous version, which kept a watermark: catch up from it, counting events stored
            // before instances were recorded as this instance's own. The watermark stays (and the cursor at it) until
            // this range is published, so a restart meanwhile does the same again.
            if (await _checkpoints!.ReadCheckpointAsync(LegacyWatermarkName, cancellationToken).ConfigureAwait(false) is { } legacy
                && DateTimeOffset.TryParse(legacy, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var watermark))
            {
                var from = TimeUuid.Min(watermark);
                cursor = from < cursor ? from : cursor;
                catchUp = new StoreRange(cursor, TimeUuid.Max(now > reservedBefore ? now : reservedBefore)) { IncludeUnattributed = true };
                _legacyThrough = catchUp.Through;
            }

            if (catchUp is not null)
            {
                Log.CatchingUp(_logger, _settings.InstanceName, catchUp.After.GetTimestamp(), catchUp.Through.GetTimestamp());
            }

            var reserved = Reservation(reservedBefore > now ? reservedBefore : now);
            await _lease.WriteAsync(cursor, reserved, release: false, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _reservedUntilTicks, reserved.UtcTicks);
        }
        else if (_transactions is not null)
        {
            throw new InvalidOperationException(
                "Exactly-once publishing keeps the publish cursor with the records and needs the durable cursor in the store: "
                + "turn on publish recovery (WithPublishRecovery(), or pass PublishRecoveryOptions to the SystemOfRecord constructor).");
        }

        lock (_gate)
        {
            if (_state == PublishState.Stopped)
            {
                // Disposed while starting: let go of what was just taken.
                _lease?.WriteAsync(cursor, ReservationAfterIssued(), release: true, CancellationToken.None).GetAwaiter().GetResult();
                throw new ObjectDisposedException(nameof(SystemOfRecord));
            }

            _ledger = new PublishLedger(cursor);
            if (catchUp is not null)
            {
                _ledger.Add(catchUp);
            }

            _state = catchUp is null ? PublishState.Running : PublishState.CatchingUp;

            // Under the lock that a disposal's stop takes first: registered after its unregistration, the gauges would
            // report a disposed pipeline for the life of the process.
            _metrics.Register(this);
        }

        // A thread of its own, waiting synchronously: callers blocked in Append on every pool thread cannot starve it.
        var dispatcherExited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                DispatchLoop();
            }
            finally
            {
                dispatcherExited.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = "SystemOfRecord publish dispatcher",
        }.Start();
        _dispatcher = dispatcherExited.Task;
        if (_lease is not null)
        {
            // Its own thread too: the lease must be renewed however busy the pool is.
            var housekeeperExited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            new Thread(() =>
            {
                try
                {
                    HousekeepingLoop();
                }
                finally
                {
                    housekeeperExited.TrySetResult();
                }
            })
            {
                IsBackground = true,
                Name = "SystemOfRecord publish cursor",
            }.Start();
            _housekeeper = housekeeperExited.Task;
        }
    }

    /// <summary>Issues the next event id and registers it, so the cursor cannot pass it while its write may still commit.</summary>
    /// <exception cref="ObjectDisposedException">The pipeline stopped.</exception>
    /// <exception cref="InstanceConflictException">Another process took this instance over.</exception>
    public PublishSlot Issue()
    {
        lock (_gate)
        {
            ThrowIfNotAccepting();
            var slot = new PublishSlot(_ids.Next());
            if (_settings.Mode == PublishMode.Acknowledged)
            {
                slot.FirstOutcome = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            _lastIssuedTicks = slot.Id.GetTimestamp().UtcTicks;
            _ledger.Add(slot);
            return slot;
        }
    }

    /// <summary>
    /// Whether the append must wait for <see cref="ReserveAsync"/> before its store write: the slot's time is past what the
    /// reservation in the store covers, or the lease has gone unconfirmed for half its duration (this process may have
    /// been taken over while it stalled, and must not write under the name until the store confirms it still holds it).
    /// </summary>
    public bool NeedsReservation(PublishSlot slot) =>
        slot.Id.GetTimestamp().UtcTicks > Volatile.Read(ref _reservedUntilTicks)
        || (_lease is not null && _lease.SinceLastWrite > _settings.Recovery!.LeaseDuration / 2);

    /// <summary>Waits until the store holds a reservation covering <paramref name="slot"/>'s time, written under a live lease.</summary>
    public async ValueTask ReserveAsync(PublishSlot slot, bool async, CancellationToken cancellationToken)
    {
        while (NeedsReservation(slot))
        {
            Task written;
            lock (_gate)
            {
                ThrowIfNotAccepting();
                written = _reservationWritten.Task;
            }

            Volatile.Write(ref _reservationWanted, 1);
            _wakeHousekeeper.Release();
            if (async)
            {
                await written.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                try
                {
                    written.Wait(cancellationToken); // signalled inline: a blocked caller needs no pool thread to wake
                }
                catch (AggregateException ex) when (ex.InnerException is { } inner)
                {
                    // The blocking Append throws what the asynchronous one does (InstanceConflictException, ObjectDisposedException).
                    ExceptionDispatchInfo.Throw(inner);
                }
            }
        }
    }

    /// <summary>The store committed the slot's event: it may be published.</summary>
    public void Committed(PublishSlot slot, RecordedEvent recordedEvent)
    {
        lock (_gate)
        {
            slot.Event = recordedEvent;
            slot.CommittedAt = _clock.GetTimestamp();
            slot.State = SlotState.Committed;
            if (ReferenceEquals(_ledger.NextToDispatch, slot))
            {
                WakeDispatcherLocked();
            }
            else if (_ledger.Count > FoldThreshold && _ledger.Count > _countAfterFold + (FoldThreshold / 4))
            {
                // Folding walks the ledger: only once it grew by a quarter of the threshold since the last fold.
                var folded = _ledger.FoldIntoRanges(keep: FoldThreshold / 4);
                _countAfterFold = _ledger.Count;
                Log.FoldedIntoRanges(_logger, _settings.InstanceName, folded);
            }
        }
    }

    /// <summary>The store write failed: nothing was written, nothing is published.</summary>
    public void Abandoned(PublishSlot slot)
    {
        lock (_gate)
        {
            slot.State = SlotState.Abandoned;
            AdvanceLocked();
            WakeDispatcherLocked();
        }
    }

    /// <summary>The store could not confirm the write: the dispatcher makes sure it is recorded (looking it up, writing it again under its id if absent), then publishes it.</summary>
    public void Indeterminate(PublishSlot slot, RecordedEvent recordedEvent)
    {
        lock (_gate)
        {
            slot.Event = recordedEvent;
            slot.CommittedAt = _clock.GetTimestamp();
            slot.State = SlotState.Indeterminate;
            WakeDispatcherLocked();
        }
    }

    /// <summary>
    /// Waits for the first outcome of the slot's publish (<see cref="PublishMode.Acknowledged"/>), at most the append
    /// timeout. Throws <see cref="EventPublishException"/> when it failed, was parked, or the wait ended first.
    /// </summary>
    public async ValueTask WaitFirstOutcomeAsync(PublishSlot slot, RecordedEvent recordedEvent, bool async, CancellationToken cancellationToken)
    {
        var outcome = slot.FirstOutcome!.Task;
        var timeout = _settings.AppendTimeout;
        try
        {
            if (async)
            {
                await (timeout == Timeout.InfiniteTimeSpan ? outcome.WaitAsync(cancellationToken) : outcome.WaitAsync(timeout, _clock, cancellationToken)).ConfigureAwait(false);
            }
            else if (!outcome.Wait(timeout, cancellationToken))
            {
                // Task.Wait is signalled inline by the task's completion: a blocked caller needs no pool thread to wake.
                throw new TimeoutException();
            }
        }
        catch (Exception ex)
        {
            var cause = ex is AggregateException { InnerException: { } inner } ? inner : ex;
            if (cause is TimeoutException or OperationCanceledException)
            {
                lock (_gate)
                {
                    slot.FirstOutcome = null; // nobody waits any more: the slot may fold into a range
                }
            }

            throw cause switch
            {
                EventPublishException already => already,
                TimeoutException => PublishFailed(recordedEvent, new TimeoutException(
                    $"The publisher did not acknowledge the event within {timeout} (PublishRecoveryOptions.PublishTimeout); the publish pipeline goes on trying.", cause), pending: true),
                _ => PublishFailed(recordedEvent, cause, pending: true),
            };
        }
    }

    /// <summary>
    /// Completes when the cursor passed the event: it is published. Throws <see cref="EventPublishException"/> when it
    /// was parked (by this run, or by an earlier one with publish recovery).
    /// </summary>
    public async Task WhenPublishedAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
    {
        TaskCompletionSource? waiter = null;
        lock (_gate)
        {
            ThrowIfNotAccepting();
            if (_unpublished.TryGetValue(recordedEvent.EventId, out var refused))
            {
                throw PublishFailed(recordedEvent, refused, pending: false);
            }

            if (recordedEvent.EventId > _ledger.Cursor)
            {
                if (!_cursorWaiters.TryGetValue(recordedEvent.EventId, out var waiters))
                {
                    _cursorWaiters.Add(recordedEvent.EventId, waiters = []);
                }

                waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                waiters.Add(waiter);
            }
        }

        if (waiter is null)
        {
            // Past the cursor: published, unless an earlier run parked it (its record is in the store).
            if (_checkpoints is not null
                && await _checkpoints.ReadCheckpointAsync(ParkedEvent.CheckpointNameOf(_settings.InstanceName, recordedEvent.EventId), cancellationToken).ConfigureAwait(false) is { } parked)
            {
                throw PublishFailed(recordedEvent, new SystemOfRecordException($"The publisher refused it for good, and it was parked: {parked}"), pending: false);
            }

            return;
        }

        try
        {
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lock (_gate)
            {
                if (_cursorWaiters.TryGetValue(recordedEvent.EventId, out var waiters) && waiters.Remove(waiter) && waiters.Count == 0)
                {
                    _cursorWaiters.Remove(recordedEvent.EventId);
                }
            }

            throw;
        }
        catch (Exception ex) when (ex is not EventPublishException)
        {
            // A disposal ended the wait, not a refusal: the event is still to publish, by the next start with recovery.
            throw PublishFailed(recordedEvent, ex, pending: ex is ObjectDisposedException);
        }
    }

    /// <summary>
    /// Publishes a run of events from outside the ledger (a replay, a republish, a repair), in order: shares the
    /// in-flight budget, tries a transient failure again with backoff (at most <see cref="MaxExternalAttempts"/> attempts
    /// per event), and completes once every event of the run is published or finished failing; then it throws the first
    /// failure (a permanent one, or the last attempt's), or stops waiting when <paramref name="cancellationToken"/> fires.
    /// One run costs one lock and one completion, however many events it holds.
    /// The caller's <see cref="Activity.Current"/> is current while the publisher runs, so its span is the publish's parent.
    /// </summary>
    public Task SendAsync(IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return Task.CompletedTask;
        }

        var run = new ExternalRun(events.Count, Activity.Current, cancellationToken);
        lock (_gate)
        {
            ThrowIfNotAccepting();
            for (var i = 0; i < events.Count; i++)
            {
                _external.Enqueue(new ExternalSend(events[i], run));
            }

            WakeDispatcherLocked();
        }

        return WhenDone(run);
    }

    /// <summary>Publishes one event from outside the ledger: a run of one (see <see cref="SendAsync(IReadOnlyList{RecordedEvent}, CancellationToken)"/>).</summary>
    public Task SendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
    {
        var run = new ExternalRun(1, Activity.Current, cancellationToken);
        var send = new ExternalSend(recordedEvent, run);
        lock (_gate)
        {
            ThrowIfNotAccepting();
            _external.Enqueue(send);
            WakeDispatcherLocked();
        }

        return WhenDone(run);
    }

    private static Task WhenDone(ExternalRun run)
    {
        var cancellationToken = run.CancellationToken;
        // A send cancelled once handed to the publisher may still be published.
        return cancellationToken.CanBeCanceled ? run.Completion.Task.WaitAsync(cancellationToken) : run.Completion.Task;
    }

    /// <summary>A snapshot for the health check, the gauges and operators.</summary>
    public PublishStatus Status()
    {
        lock (_gate)
        {
            return new PublishStatus
            {
                InstanceName = _settings.InstanceName,
                State = _state == PublishState.Running && _retrying ? PublishState.Retrying : _state,
                Cursor = _ledger.Cursor,
                Lag = LagLocked(),
                InFlight = _inFlight,
                Backlog = _ledger.Count,
                Parked = _parked,
                IsDurable = IsDurable,
            };
        }
    }

    /// <summary>The events parked by this instance: kept in the store with publish recovery, in memory without.</summary>
    public async IAsyncEnumerable<ParkedEvent> ParkedEventsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_checkpoints is null)
        {
            ParkedEvent[] inMemory;
            lock (_gate)
            {
                inMemory = [.. _parkedInMemory];
            }

            foreach (var parked in inMemory)
            {
                yield return parked;
            }

            yield break;
        }

        await foreach (var (name, value) in _checkpoints.ReadCheckpointsAsync(ParkedEvent.CheckpointPrefix(_settings.InstanceName), cancellationToken).ConfigureAwait(false))
        {
            if (ParkedEvent.FromCheckpoint(name, value) is { } parked)
            {
                yield return parked;
            }
        }
    }

    /// <summary>
    /// Stops accepting appends, waits (at most the drain timeout) for what is committed to be published, stops the
    /// dispatcher and, with publish recovery, writes the cursor and lets go of the instance name.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Task drained;
        lock (_gate)
        {
            if (_state is PublishState.Stopped)
            {
                return;
            }

            var started = _state != PublishState.NotStarted;
            var fenced = _state == PublishState.Fenced;
            if (!fenced)
            {
                _state = PublishState.Stopped;
            }

            if (!started)
            {
                return;
            }

            _drained = NewSignal();
            if (fenced)
            {
                _drained.TrySetResult();
            }

            CheckDrainedLocked();
            drained = _drained.Task;
        }

        try
        {
            // Real time, whatever clock the pipeline runs on: this bounds a shutdown.
            await drained.WaitAsync(_settings.DrainTimeout, TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.StoppedWithBacklog(_logger, _settings.InstanceName, Status().Backlog);
        }

        try
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            _wake.Release();
            _wakeHousekeeper.Release();
            await _dispatcher.ConfigureAwait(false);
            await _housekeeper.ConfigureAwait(false);
            if (_lease is not null && _fault is null)
            {
                TimeUuid cursor;
                bool writing;
                lock (_gate)
                {
                    cursor = _ledger.Cursor;
                    writing = _ledger.Any(SlotState.Issued, SlotState.Indeterminate);
                }

                // A write still in progress may yet commit: then the name stays held, so the next holder waits a lease
                // (and reads the store after it) instead of claiming at once and missing it.
                await _lease.WriteAsync(cursor, ReservationAfterIssued(), release: !writing, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Log.ReleaseFailed(_logger, ex, _settings.InstanceName);
        }
        finally
        {
            _metrics.Unregister(this);
            FailWaiters(new ObjectDisposedException(nameof(SystemOfRecord)));
        }
    }

    internal TimeSpan Lag
    {
        get
        {
            lock (_gate)
            {
                return LagLocked();
            }
        }
    }

    private TimeSpan LagLocked()
    {
        DateTimeOffset? oldest = _ledger.Oldest switch
        {
            PublishSlot slot => slot.Id.GetTimestamp(),
            StoreRange range => range.After.GetTimestamp(),
            _ => null,
        };
        var lag = oldest is { } since ? _clock.GetUtcNow() - since : TimeSpan.Zero;
        return lag > TimeSpan.Zero ? lag : TimeSpan.Zero;
    }

    private void ThrowIfNotAccepting()
    {
        ThrowIfFaulted();
        if (_state is PublishState.Stopped or PublishState.NotStarted)
        {
            throw new ObjectDisposedException(nameof(SystemOfRecord));
        }
    }

    private void ThrowIfFaulted()
    {
        if (_fault is not null)
        {
            throw _fault as InstanceConflictException ?? (Exception)new InvalidOperationException("The publish pipeline stopped after a failure.", _fault);
        }
    }

    private void WakeDispatcherLocked()
    {
        if (_dispatcherWaiting)
        {
            _dispatcherWaiting = false;
            _wake.Release();
        }
    }

    private void AdvanceLocked()
    {
        if (!_ledger.Advance())
        {
            return;
        }

        if (_state == PublishState.CatchingUp && _ledger.Oldest is not StoreRange)
        {
            _state = PublishState.Running;
            Log.CaughtUp(_logger, _settings.InstanceName, _ledger.Cursor.GetTimestamp());
        }

        while (_cursorWaiters.Count > 0)
        {
            var (id, waiters) = _cursorWaiters.First();
            if (id > _ledger.Cursor)
            {
                break;
            }

            _cursorWaiters.Remove(id);
            var refused = _unpublished.GetValueOrDefault(id);
            foreach (var waiter in waiters)
            {
                if (refused is null)
                {
                    waiter.TrySetResult();
                }
                else
                {
                    waiter.TrySetException(refused);
                }
            }
        }

        CheckDrainedLocked();
    }

    private void CheckDrainedLocked()
    {
        // Drained: nothing left that could be published now. A failing publisher counts as drained: waiting for it to
        // come back is the next start's job (with recovery) or a republish's.
        if (_drained is not null
            && (_retrying || (_inFlight == 0 && _external.Count == 0 && _ledger.NextToDispatch is null)))
        {
            _drained.TrySetResult();
        }
    }

    private void FailWaiters(Exception exception)
    {
        List<TaskCompletionSource> waiters;
        ExternalSend[] external;
        lock (_gate)
        {
            waiters = [.. _cursorWaiters.Values.SelectMany(w => w)];
            _cursorWaiters.Clear();
            for (var entry = _ledger.Oldest; entry is not null; entry = entry.Next)
            {
                if (entry is PublishSlot { FirstOutcome: { } outcome })
                {
                    waiters.Add(outcome);
                }
            }

            external = [.. _external, .. _retryExternal];
            _external.Clear();
            _retryExternal.Clear();
            _reservationWritten.TrySetException(exception);
            Observe(_reservationWritten.Task);
        }

        foreach (var waiter in waiters)
        {
            waiter.TrySetException(exception);
            Observe(waiter.Task);
        }

        foreach (var send in external)
        {
            send.Fail(exception);
        }
    }

    /// <summary>Marks a task's failure as seen: its waiter may have gone, and an unobserved failure would be reported at collection.</summary>
    private static void Observe(Task task) => _ = task.Exception;

    /// <summary>Remembers that an event was not published, for <see cref="WhenPublishedAsync"/>; forgets the oldest beyond a bound.</summary>
    private void RememberUnpublishedLocked(TimeUuid id, Exception reason)
    {
        if (_unpublished.TryAdd(id, reason))
        {
            _unpublishedOrder.Enqueue(id);
            if (_unpublishedOrder.Count > UnpublishedRemembered)
            {
                _unpublished.Remove(_unpublishedOrder.Dequeue());
            }
        }
    }

    private EventPublishException PublishFailed(RecordedEvent recordedEvent, Exception exception, bool pending)
    {
        if (exception is EventPublishException already)
        {
            return already;
        }

        Log.PublishFailed(_logger, exception, recordedEvent.EventId, recordedEvent.TimeBucket);
        // Scheduled means it survives this process too: the pipeline retries it, and with recovery a restart resumes it.
        return new EventPublishException(recordedEvent, exception, recoveryScheduled: pending && IsDurable && _fault is null);
    }

    private DateTimeOffset Reservation(DateTimeOffset from) => from + ReserveAhead;

    /// <summary>The reservation to write next: ahead of the clock and of the last id issued, and never below the one written before.</summary>
    private DateTimeOffset ReservationAfterIssued()
    {
        var now = _clock.GetUtcNow();
        var issued = new DateTimeOffset(Math.Max(Volatile.Read(ref _lastIssuedTicks), now.UtcTicks), TimeSpan.Zero);
        var reserved = Reservation(issued).UtcTicks;
        var written = Volatile.Read(ref _reservedUntilTicks);
        return new DateTimeOffset(written != long.MaxValue && written > reserved ? written : reserved, TimeSpan.Zero);
    }

    // How far ahead of the clock ids are reserved: several cursor writes, so appends rarely wait for one.
    private TimeSpan ReserveAhead => TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, _settings.Recovery!.RecoveryInterval.Ticks * 4));

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>An event published from outside the ledger: one of a replay's, a republish's, a repair's runs.</summary>
    private sealed class ExternalSend(RecordedEvent recordedEvent, ExternalRun run)
    {
        private int _finished;

        public RecordedEvent Event { get; } = recordedEvent;

        public ExternalRun Run { get; } = run;

        public Activity? Activity => Run.Activity;

        public CancellationToken CancellationToken => Run.CancellationToken;

        public int Attempts { get; set; }

        public void Succeed() => Finish(null);

        public void Fail(Exception error) => Finish(error);

        public void Cancel() => Finish(new OperationCanceledException(CancellationToken));

        // Once per event, whoever tells first (the publisher's report, a fence, a disposal).
        private void Finish(Exception? error)
        {
            if (Interlocked.Exchange(ref _finished, 1) == 0)
            {
                Run.Finished(error);
            }
        }
    }

    /// <summary>The events one <see cref="SendAsync(IReadOnlyList{RecordedEvent}, CancellationToken)"/> call handed over, and its completion: done once every one of them is.</summary>
    private sealed class ExternalRun(int count, Activity? activity, CancellationToken cancellationToken)
    {
        private int _remaining = count;
        private Exception? _failure;

        public Activity? Activity { get; } = activity;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Finished(Exception? error)
        {
            if (error is not null)
            {
                Interlocked.CompareExchange(ref _failure, error, null);
            }

            if (Interlocked.Decrement(ref _remaining) != 0)
            {
                return;
            }

            switch (Volatile.Read(ref _failure))
            {
                case null:
                    Completion.TrySetResult();
                    break;
                case OperationCanceledException when CancellationToken.IsCancellationRequested:
                    Completion.TrySetCanceled(CancellationToken);
                    break;
                case { } failure:
                    Completion.TrySetException(failure);
                    Observe(Completion.Task); // its caller may have stopped waiting
                    break;
            }
        }
    }
}
