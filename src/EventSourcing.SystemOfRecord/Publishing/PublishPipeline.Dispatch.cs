using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace EventSourcing.SystemOfRecord;

internal sealed partial class PublishPipeline
{
    private readonly List<object> _batch = [];
    private readonly List<ParkedEvent> _parkedInMemory = [];
    private readonly SemaphoreSlim _wakeHousekeeper = new(0);
    private StoreRange? _rangeToRead;
    private PublishSlot? _slotToLookUp;
    private bool _externalFirst;

    private enum Step
    {
        Wait,
        Send,
        ReadRange,
        LookUp,
        Retry,
        Exit,
    }

    /// <summary>
    /// The dispatcher: the only code that calls the publisher. Runs on a thread of its own and waits synchronously;
    /// sends do not block (the publisher pipelines them), and the rare steps that read the store or wait out a backoff
    /// block only this thread.
    /// </summary>
    private void DispatchLoop()
    {
        while (true)
        {
            Step step;
            lock (_gate)
            {
                step = NextStepLocked();
                _dispatcherWaiting = step == Step.Wait;
            }

            try
            {
                switch (step)
                {
                    case Step.Exit:
                        return;
                    case Step.Wait:
                        _wake.Wait();
                        break;
                    case Step.Send when _transactions is not null:
                        try
                        {
                            PublishTransactionAsync().GetAwaiter().GetResult();
                        }
                        catch (Exception ex) when (_stopping.IsCancellationRequested && ex is not InstanceConflictException)
                        {
                            // Stopped while the transaction was failing: its replayed events are no longer anybody's to
                            // send, so their callers hear it now (a live event's waiters hear at disposal, and with
                            // recovery the next start publishes it).
                            FailExternalInBatch(new ObjectDisposedException(nameof(SystemOfRecord)));
                            return;
                        }

                        lock (_gate)
                        {
                            _inFlight = 0;
                            CheckDrainedLocked();
                        }

                        break;
                    case Step.Send:
                        PublishBatch();
                        break;
                    case Step.ReadRange:
                        ReadRangeAsync(_rangeToRead!).GetAwaiter().GetResult();
                        break;
                    case Step.LookUp:
                        LookUpAsync(_slotToLookUp!).GetAwaiter().GetResult();
                        break;
                    case Step.Retry:
                        RetryAfterBackoffAsync().GetAwaiter().GetResult();
                        break;
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (InstanceConflictException ex)
            {
                FailExternalInBatch(ex);
                Fence(ex);
                return;
            }
            catch (Exception ex)
            {
                // A store read failed (catch-up, look-up): wait a little and try the same step again.
                Log.DispatchStepFailed(_logger, ex, _settings.InstanceName);
                DelayAsync(NextBackoff()).GetAwaiter().GetResult();
            }
        }
    }

    /// <summary>Fails the replayed events of the batch the dispatcher holds that have not finished (a finished one ignores it).</summary>
    private void FailExternalInBatch(Exception error)
    {
        foreach (var item in _batch)
        {
            (item as ExternalSend)?.Fail(error);
        }
    }

    /// <summary>Decides what the dispatcher does next; fills <see cref="_batch"/> for a send.</summary>
    private Step NextStepLocked()
    {
        _batch.Clear();
        if (_state == PublishState.Fenced || _stopping.IsCancellationRequested)
        {
            return Step.Exit;
        }

        if (_retrying)
        {
            return _inFlight > 0 ? Step.Wait : Step.Retry;
        }

        var room = _transactions is not null ? MaxTransactionEvents - _inFlight : _settings.MaxInFlight - _inFlight;
        if (room <= 0)
        {
            return Step.Wait;
        }

        // Replays and live events take turns, so neither starves the other.
        _externalFirst = !_externalFirst;
        if (_externalFirst)
        {
            TakeExternalLocked(Math.Max(1, room / 2));
        }

        while (_batch.Count < room)
        {
            switch (_ledger.NextToDispatch)
            {
                case PublishSlot { State: SlotState.Committed } slot:
                    slot.State = SlotState.Sent;
                    _ledger.MarkDispatched();
                    _batch.Add(slot);
                    continue;
                case PublishSlot { State: SlotState.Abandoned }:
                    _ledger.MarkDispatched();
                    continue;
                case PublishSlot { State: SlotState.Indeterminate } slot when _batch.Count == 0:
                    _slotToLookUp = slot;
                    return Step.LookUp;
                case StoreRange { Exhausted: true }:
                    _ledger.MarkDispatched();
                    continue;
                case StoreRange range when _batch.Count == 0:
                    _rangeToRead = range;
                    return Step.ReadRange;
            }

            break; // the next event is still being written (or needs a look-up after this batch)
        }

        TakeExternalLocked(room - _batch.Count);
        if (_batch.Count == 0)
        {
            return Step.Wait;
        }

        _inFlight += _batch.Count;
        return Step.Send;
    }

    private void TakeExternalLocked(int room)
    {
        while (room-- > 0 && _external.TryDequeue(out var send))
        {
            if (send.CancellationToken.IsCancellationRequested)
            {
                send.Cancel();
                room++;
                continue;
            }

            _batch.Add(send);
        }
    }

    /// <summary>At least once: hands each event of the batch to the publisher and moves on; outcomes come back through <see cref="OnPublished"/>.</summary>
    private void PublishBatch()
    {
        var previous = Activity.Current;
        var publishedAtOnce = 0;
        foreach (var item in _batch)
        {
            var (recordedEvent, activity) = item is ExternalSend send ? (send.Event, send.Activity) : (((PublishSlot)item).Event!, null);
            try
            {
                Activity.Current = activity;
                if (_callbacks is not null)
                {
                    _callbacks.Publish(recordedEvent, this, item);
                    continue;
                }

                var pending = _publisher.PublishAsync(recordedEvent, CancellationToken.None);
                if (pending.IsCompletedSuccessfully && item is ExternalSend published)
                {
                    // Nothing to retry or advance: counted below, under one lock for the whole batch.
                    publishedAtOnce++;
                    published.Succeed();
                }
                else if (pending.IsCompletedSuccessfully)
                {
                    OnPublished(item, null);
                }
                else
                {
                    pending.AsTask().ContinueWith(
                        static (task, state) =>
                        {
                            var (pipeline, item) = ((PublishPipeline, object))state!;
                            pipeline.OnPublished(item, task.IsFaulted ? task.Exception!.InnerException! : task.IsCanceled ? new OperationCanceledException() : null);
                        },
                        (this, item),
                        CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously,
                        TaskScheduler.Default);
                }
            }
            catch (Exception ex)
            {
                OnPublished(item, ex);
            }
            finally
            {
                Activity.Current = previous;
            }
        }

        if (publishedAtOnce > 0)
        {
            lock (_gate)
            {
                _inFlight -= publishedAtOnce;
                CheckDrainedLocked();
                WakeDispatcherLocked();
            }

            _metrics.Published(live: false, publishedAtOnce);
        }
    }

    /// <summary>One publish's outcome: acknowledged, failed for now (retried), or refused for good (parked).</summary>
    public void OnPublished(object? state, Exception? error)
    {
        var item = state!;
        var slot = item as PublishSlot;
        var send = item as ExternalSend;
        var transient = false;
        var retry = false;
        var committedAt = slot?.CommittedAt ?? 0;
        lock (_gate)
        {
            _inFlight--;
            if (error is not null and not InstanceConflictException)
            {
                transient = IsTransient(error, slot);
            }

            if (error is InstanceConflictException)
            {
                // Fenced by the broker: handled below, outside the lock.
            }
            else if (slot is not null)
            {
                if (error is null)
                {
                    slot.State = SlotState.Acknowledged;
                    slot.Event = null;
                    if (!_retrying)
                    {
                        _retryRound = 0;
                    }

                    AdvanceLocked();
                }
                else if (transient)
                {
                    slot.State = SlotState.Failed;
                    _retrying = true;
                }
                else
                {
                    slot.State = SlotState.Parking;
                }
            }
            else if (transient && !send!.CancellationToken.IsCancellationRequested && !_stopping.IsCancellationRequested && ++send.Attempts < MaxExternalAttempts)
            {
                retry = true;
                _retrying = true;
                _retryExternal.Add(send);
            }

            CheckDrainedLocked();
            WakeDispatcherLocked();
        }

        if (error is InstanceConflictException conflict)
        {
            send?.Fail(conflict);
            Fence(conflict);
            return;
        }

        if (error is null)
        {
            _metrics.Published(slot is not null, slot is null ? null : _clock.GetElapsedTime(committedAt));
            slot?.FirstOutcome?.TrySetResult();
            send?.Succeed();
            return;
        }

        _metrics.PublishFailed(transient);
        if (slot is not null)
        {
            if (slot.FirstOutcome is { } outcome)
            {
                outcome.TrySetException(transient ? error : new EventPublishException(slot.Event!, error, recoveryScheduled: false));
                Observe(outcome.Task);
            }

            if (!transient)
            {
                // Off the publisher's callback thread: recording the parked event writes to the store.
                _ = Task.Run(() => ParkAsync(slot, error));
            }
        }
        else if (!retry)
        {
            if (send!.CancellationToken.IsCancellationRequested)
            {
                send.Cancel();
            }
            else
            {
                send.Fail(error);
            }
        }
    }

    private readonly List<ExternalSend> _retryExternal = [];

    /// <summary>After a transient failure: once nothing is in flight, waits out the backoff, then sends the failed events again, in order.</summary>
    private async Task RetryAfterBackoffAsync()
    {
        var delay = NextBackoff();
        Log.Retrying(_logger, _settings.InstanceName, delay);

        await DelayAsync(delay).ConfigureAwait(false);
        if (_stopping.IsCancellationRequested)
        {
            return; // stopping: the failed events wait for the next start (with recovery) or a republish
        }

        lock (_gate)
        {
            _batch.Clear();
            foreach (var send in _retryExternal)
            {
                _batch.Add(send);
            }

            _retryExternal.Clear();
            foreach (var slot in _ledger.Dispatched(SlotState.Failed))
            {
                slot.State = SlotState.Sent;
                _batch.Add(slot);
            }

            _retrying = false;
            _inFlight += _batch.Count;
        }

        PublishBatch();
    }

    /// <summary>Exactly once: publishes the batch and the cursor it reaches in one transaction; on a permanent failure, one event per transaction to park the culprit.</summary>
    private async Task PublishTransactionAsync()
    {
        var items = _batch.ToArray();
        try
        {
            await CommitAsync(items).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not InstanceConflictException && !IsTransient(ex) && items.Length > 1)
        {
            Log.TransactionRefused(_logger, ex, _settings.InstanceName, items.Length);
            foreach (var item in items)
            {
                try
                {
                    await CommitAsync([item]).ConfigureAwait(false);
                }
                catch (Exception single) when (single is not InstanceConflictException && !IsTransient(single))
                {
                    await RefuseAsync(item, single).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is not InstanceConflictException && !IsTransient(ex))
        {
            await RefuseAsync(items[0], ex).ConfigureAwait(false);
        }
    }

    /// <summary>Commits one transaction of <paramref name="items"/>, retrying transient failures with backoff.</summary>
    private async Task CommitAsync(object[] items)
    {
        var events = new RecordedEvent[items.Length];
        var cursor = default(TimeUuid?);
        for (var i = 0; i < items.Length; i++)
        {
            (events[i], cursor) = items[i] switch
            {
                PublishSlot slot => (slot.Event!, slot.Id),
                ExternalSend send => (send.Event, cursor),
                _ => throw new UnreachableException(),
            };
        }

        if (cursor is null)
        {
            lock (_gate)
            {
                cursor = _ledger.Cursor;
            }
        }

        while (true)
        {
            try
            {
                _stopping.Token.ThrowIfCancellationRequested();
                await _transactions!.PublishTransactionAsync(events, cursor.Value.ToString(), _stopping.Token).ConfigureAwait(false);
                break;
            }
            catch (Exception ex) when (IsTransient(ex) && ex is not InstanceConflictException && !_stopping.IsCancellationRequested)
            {
                _metrics.PublishFailed(transient: true);
                lock (_gate)
                {
                    _retrying = true;
                    CheckDrainedLocked(); // a failing publisher counts as drained: a disposal need not wait out its timeout
                }

                var delay = NextBackoff();
                Log.TransactionRetrying(_logger, ex, _settings.InstanceName, delay);
                await DelayAsync(delay).ConfigureAwait(false);
            }
        }

        lock (_gate)
        {
            _retrying = false;
            _retryRound = 0;
            foreach (var item in items)
            {
                if (item is PublishSlot slot)
                {
                    slot.State = SlotState.Acknowledged;
                    slot.Event = null;
                }
            }

            AdvanceLocked();
        }

        foreach (var item in items)
        {
            if (item is PublishSlot slot)
            {
                _metrics.Published(live: true, _clock.GetElapsedTime(slot.CommittedAt));
                slot.FirstOutcome?.TrySetResult();
            }
            else
            {
                _metrics.Published(live: false, null);
                ((ExternalSend)item).Succeed();
            }
        }
    }

    private async Task RefuseAsync(object item, Exception error)
    {
        _metrics.PublishFailed(transient: false);
        if (item is ExternalSend send)
        {
            send.Fail(error);
            return;
        }

        var slot = (PublishSlot)item;
        lock (_gate)
        {
            slot.State = SlotState.Parking;
        }

        slot.FirstOutcome?.TrySetException(new EventPublishException(slot.Event!, error, recoveryScheduled: false));
        await ParkAsync(slot, error).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a refused event as parked (in the store with publish recovery) before the cursor may pass it, so a crash
    /// never loses track of it; retries the record's write until it sticks.
    /// </summary>
    private async Task ParkAsync(PublishSlot slot, Exception error)
    {
        var recordedEvent = slot.Event!;
        var parked = new ParkedEvent(_settings.InstanceName, slot.Id, recordedEvent.TimeBucket, error.Message);
        Log.Parked(_logger, error, slot.Id, recordedEvent.TimeBucket, recordedEvent.Topic);
        while (_checkpoints is not null)
        {
            try
            {
                await _checkpoints.WriteCheckpointAsync(parked.CheckpointName, parked.CheckpointValue, CancellationToken.None).ConfigureAwait(false);
                break;
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested)
            {
                Log.ParkWriteFailed(_logger, ex, slot.Id);
                await DelayAsync(NextBackoff()).ConfigureAwait(false);
            }
            catch (Exception)
            {
                return; // stopping: the cursor stays before it, so the next start publishes (and parks) it again
            }
        }

        lock (_gate)
        {
            slot.State = SlotState.Parked;
            slot.Event = null;
            _parked++;
            RememberUnpublishedLocked(slot.Id, error);
            if (_checkpoints is null)
            {
                // Without recovery the list lives in memory: the newest ones, bounded.
                if (_parkedInMemory.Count == UnpublishedRemembered)
                {
                    _parkedInMemory.RemoveAt(0);
                }

                _parkedInMemory.Add(parked);
            }

            AdvanceLocked();
            WakeDispatcherLocked();
        }

        _metrics.Parked();
    }

    /// <summary>Reads the next chunk of this instance's events in the range back from the store, in front of the range.</summary>
    private async Task ReadRangeAsync(StoreRange range)
    {
        var found = new List<RecordedEvent>(RangeChunk);
        var exhausted = true;
        var from = TimeBuckets.Floor(range.After.GetTimestamp().UtcDateTime, _incrementTicks);
        var to = TimeBuckets.Floor(range.Through.GetTimestamp().UtcDateTime, _incrementTicks).AddTicks(_incrementTicks);
        await foreach (var recordedEvent in _store.ReadRangeAsync(from, to, _stopping.Token).ConfigureAwait(false))
        {
            var own = recordedEvent.Instance == _settings.InstanceName || (range.IncludeUnattributed && recordedEvent.Instance is null);
            if (recordedEvent.EventId <= range.After || recordedEvent.EventId > range.Through || !own)
            {
                continue;
            }

            if (found.Count == RangeChunk)
            {
                exhausted = false;
                break;
            }

            found.Add(recordedEvent);
        }

        var now = _clock.GetTimestamp();
        var slots = found.ConvertAll(e => new PublishSlot(e.EventId) { Event = e, State = SlotState.Committed, CommittedAt = now });
        lock (_gate)
        {
            // The slots go in front of the range and are dispatched next; the range stays until it is read to its end.
            _ledger.InsertBeforeNext(slots);
            if (found.Count > 0)
            {
                range.After = found[^1].EventId;
            }

            if (exhausted)
            {
                range.Exhausted = true; // the dispatcher steps over it once the slots in front of it are dispatched
                AdvanceLocked();
            }
        }
    }

    /// <summary>
    /// Resolves a write the store could not confirm, once it had time to land: when the store holds the event, publishes
    /// it; when not, writes it again under the same id (an upsert: harmless if the first write lands later) and then
    /// publishes it. An indeterminate append is thus always recorded and published, never left in doubt.
    /// </summary>
    private async Task LookUpAsync(PublishSlot slot)
    {
        var wait = IndeterminateSettle - _clock.GetElapsedTime(slot.CommittedAt);
        if (wait > TimeSpan.Zero)
        {
            await DelayAsync(wait).ConfigureAwait(false);
        }

        var wanted = slot.Event!;
        var found = false;
        await foreach (var recordedEvent in _store.ReadBucketAsync(wanted.TimeBucket, _stopping.Token).ConfigureAwait(false))
        {
            if (recordedEvent.EventId == wanted.EventId)
            {
                found = true;
                break;
            }
        }

        if (!found)
        {
            try
            {
                await _store.AppendAsync(wanted, _stopping.Token).ConfigureAwait(false);
            }
            catch (IndeterminateAppendException)
            {
                lock (_gate)
                {
                    slot.CommittedAt = _clock.GetTimestamp(); // in doubt again: look again after the settle time
                }

                return;
            }
        }

        lock (_gate)
        {
            slot.State = SlotState.Committed;
        }

        Log.IndeterminateResolved(_logger, slot.Id, found);
    }

    /// <summary>
    /// With publish recovery: writes the cursor and the id reservation, renewing the lease, every recovery interval (and
    /// at once when an append waits for the reservation). Runs on a thread of its own and waits synchronously.
    /// </summary>
    private void HousekeepingLoop()
    {
        var interval = _settings.Recovery!.RecoveryInterval;
        var written = (Cursor: default(TimeUuid), Reserved: DateTimeOffset.MinValue);
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                _wakeHousekeeper.Wait(interval, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            TimeUuid cursor;
            TaskCompletionSource reservationWritten;
            lock (_gate)
            {
                cursor = _ledger.Cursor;
                reservationWritten = _reservationWritten;
            }

            var reserved = ReservationAfterIssued();
            var reservationLow = reserved - written.Reserved > ReserveAhead / 2;
            if (cursor == written.Cursor && !reservationLow && !_lease!.RenewalDue && Interlocked.Exchange(ref _reservationWanted, 0) == 0)
            {
                continue;
            }

            try
            {
                _lease!.WriteAsync(cursor, reserved, release: false, _stopping.Token).GetAwaiter().GetResult();
                written = (cursor, reserved);
                Volatile.Write(ref _reservedUntilTicks, reserved.UtcTicks);
                lock (_gate)
                {
                    _reservationWritten = NewSignal();
                }

                reservationWritten.TrySetResult();

                // The upgrade's catch-up is published and the cursor that says so is in the store: the old watermark can go.
                if (_legacyThrough is { } legacy && cursor >= legacy)
                {
                    _checkpoints!.DeleteCheckpointAsync(LegacyWatermarkName, _stopping.Token).GetAwaiter().GetResult();
                    _legacyThrough = null;
                }
            }
            catch (InstanceConflictException ex)
            {
                Fence(ex);
                return;
            }
            catch (Exception ex)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return; // stopping: disposal writes the cursor one last time
                }

                Log.CursorWriteFailed(_logger, ex, _settings.InstanceName);
            }
        }
    }

    /// <summary>Another process took this instance over: stop publishing for good and fail every waiter with the reason.</summary>
    private void Fence(InstanceConflictException conflict)
    {
        List<TaskCompletionSource> firstOutcomes = [];
        lock (_gate)
        {
            if (_state == PublishState.Fenced)
            {
                return;
            }

            _fault = conflict;
            _state = PublishState.Fenced;
            for (var entry = _ledger.Oldest; entry is not null; entry = entry.Next)
            {
                if (entry is PublishSlot { FirstOutcome: { } outcome })
                {
                    firstOutcomes.Add(outcome);
                }
            }

            _drained?.TrySetResult();
            WakeDispatcherLocked();
        }

        Log.Fenced(_logger, conflict, _settings.InstanceName);
        foreach (var outcome in firstOutcomes)
        {
            outcome.TrySetException(conflict);
        }

        FailWaiters(conflict);
        _wakeHousekeeper.Release();
    }

    private TimeSpan NextBackoff()
    {
        // Exponential with jitter, capped: a broker that is down is not hammered, and many instances do not retry in step.
        var round = Math.Min(Interlocked.Increment(ref _retryRound), 16);
        var ceiling = Math.Min(_settings.MaxBackoff.Ticks, FirstBackoff.Ticks << Math.Min(round - 1, 20));
        return TimeSpan.FromTicks((long)(ceiling * (0.5 + (Random.Shared.NextDouble() / 2))));
    }

    private async Task DelayAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _clock, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Whether to try again: what a provider classified says so itself. A publisher that disposed of itself is transient
    /// (the system of record is stopping too). Any other failure is tried again a few times, then counts as refused
    /// for good, so that one poison event cannot hold up every event after it forever.
    /// </summary>
    private static bool IsTransient(Exception exception, PublishSlot? slot) => exception switch
    {
        SystemOfRecordException known => known.IsTransient,
        ObjectDisposedException or OperationCanceledException => true,
        ArgumentException => false,
        _ when slot is null => true,
        _ => ++slot.UnclassifiedFailures < MaxUnclassifiedFailures,
    };

    private static bool IsTransient(Exception exception) => IsTransient(exception, slot: null);
}
