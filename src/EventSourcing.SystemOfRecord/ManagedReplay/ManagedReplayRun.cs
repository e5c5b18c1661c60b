using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// One run of a managed replay. A single reader streams the range from the store in bucket then event id order and
/// takes a rate-limit token per event. To a custom target, it hands each event to the lane its key hashes to; each
/// lane delivers its events one at a time, in the order it got them. To the publish pipeline, it sends each event
/// without waiting for the one before (the pipeline keeps the send order, and so each key's order), with at most
/// <see cref="PipelineWindow"/> unacknowledged. The checkpoint is the longest prefix of the read order that is fully
/// delivered, so it never claims an event that was not delivered.
/// </summary>
internal sealed class ManagedReplayRun
{
    // Events queued per lane: enough to keep lanes busy, few enough that a graceful stop delivers little more.
    private const int LaneCapacity = 16;

    // Sends to the publish pipeline outstanding at once: enough to fill its in-flight budget.
    private const int PipelineWindow = 4096;

    private readonly IEventStore _store;
    private readonly ICheckpointStore _checkpoints;
    private readonly Func<RecordedEvent, CancellationToken, ValueTask>? _target;
    private readonly Func<RecordedEvent, CancellationToken, Task>? _send;
    private readonly ManagedReplayOptions _options;
    private readonly TimeProvider _clock;
    private readonly string _name;
    private readonly DateTime _first;
    private readonly DateTime _end;
    private readonly long _incrementTicks;

    private readonly object _gate = new();
    private readonly Queue<Entry> _pending = new();
    private DateTime _readerBucket;
    private DateTime? _prefixBucket;
    private TimeUuid _prefixId;
    private long _delivered;
    private Exception? _failure;

    public ManagedReplayRun(
        IEventStore store,
        ICheckpointStore checkpoints,
        Func<RecordedEvent, CancellationToken, ValueTask>? target,
        Func<RecordedEvent, CancellationToken, Task>? send,
        ManagedReplayOptions options,
        TimeProvider clock,
        string name,
        DateTime first,
        DateTime end,
        long incrementTicks)
    {
        _store = store;
        _checkpoints = checkpoints;
        _target = target;
        _send = send;
        _options = options;
        _clock = clock;
        _name = name;
        _first = first;
        _end = end;
        _incrementTicks = incrementTicks;
        _readerBucket = first;
    }

    /// <summary>Where the run started: the resume point of an earlier run's checkpoint, or <see langword="null"/>.</summary>
    public DateTime? ResumedFrom { get; private set; }

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Runs the replay from its checkpoint to the end of the range.</summary>
    /// <returns>Whether the replay was already complete before this run.</returns>
    public async Task<bool> RunAsync(IProgress<ReplayProgress>? progress, CancellationToken cancellationToken)
    {
        var storageName = ReplayCheckpoint.StorageName(_name);
        var saved = await _checkpoints.ReadCheckpointAsync(storageName, cancellationToken).ConfigureAwait(false);
        var start = saved is null ? null : ReplayCheckpoint.Parse(_name, saved);
        if (start is not null && (start.From != _first || start.To != _end))
        {
            throw new InvalidOperationException(
                $"Replay '{_name}' was started for buckets {start.From:O} to {start.To:O}; it cannot resume for {_first:O} to {_end:O}. "
                + "Run it with its original range, or give the new replay another name.");
        }

        var startBucket = start?.NextBucket ?? _first;
        ResumedFrom = start?.NextBucket;
        _readerBucket = startBucket;
        if (start?.LastEventId is { } resumeAfter)
        {
            _prefixBucket = startBucket;
            _prefixId = resumeAfter;
        }

        var total = TimeBuckets.Count(_first, _end, _incrementTicks);
        var meter = new ProgressMeter(progress, _clock, total, TimeBuckets.Count(_first, startBucket, _incrementTicks));
        if (start is { IsComplete: true })
        {
            meter.Report(total, 0, force: true);
            return true;
        }

        using var abort = new CancellationTokenSource();
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, abort.Token);
        var lanes = new Channel<Entry>[_send is null ? _options.MaxParallelism : 0];
        var laneTasks = new Task[lanes.Length];
        for (var i = 0; i < lanes.Length; i++)
        {
            lanes[i] = Channel.CreateBounded<Entry>(new BoundedChannelOptions(LaneCapacity) { SingleReader = true, SingleWriter = true });
            laneTasks[i] = DeliverLaneAsync(lanes[i].Reader, abort);
        }

        using var window = new SemaphoreSlim(PipelineWindow, PipelineWindow);

        var limiter = _options.MaxEventsPerSecond is { } rate ? new TokenBucket(rate, _options.EffectiveBurst, _clock) : null;
        var written = (Bucket: startBucket, At: (long?)null);
        var finished = false;
        try
        {
            await foreach (var recorded in _store.ReadRangeAsync(startBucket, _end, reading.Token).ConfigureAwait(false))
            {
                if (recorded.TimeBucket == startBucket && start?.LastEventId is { } after && recorded.EventId <= after)
                {
                    continue; // delivered by the run that stopped inside this bucket
                }

                if (limiter is not null)
                {
                    await limiter.AcquireAsync(reading.Token).ConfigureAwait(false);
                }

                if (_send is null)
                {
                    await lanes[LaneOf(recorded)].Writer.WriteAsync(Track(recorded), reading.Token).ConfigureAwait(false);
                }
                else
                {
                    await window.WaitAsync(reading.Token).ConfigureAwait(false);
                    Send(Track(recorded), window, abort);
                }

                var next = NextBucket();
                meter.Report(TimeBuckets.Count(_first, next, _incrementTicks), Delivered);
                if (next > written.Bucket && (written.At is null || _clock.GetElapsedTime(written.At.Value) >= _options.CheckpointInterval))
                {
                    var state = State();
                    await _checkpoints.WriteCheckpointAsync(storageName, state.Format(), reading.Token).ConfigureAwait(false);
                    written = (state.NextBucket, _clock.GetTimestamp());
                }
            }

            finished = true;
        }
        catch (OperationCanceledException) when (reading.IsCancellationRequested)
        {
            // Cancelled by the caller, or a lane failed: stop reading; what the lanes hold is still delivered (or abandoned on failure).
        }
        catch (Exception ex)
        {
            // The store (or a checkpoint write) failed: stop the lanes and keep the checkpoint they earned.
            lock (_gate)
            {
                _failure ??= ex;
            }

            await abort.CancelAsync().ConfigureAwait(false);
        }
        finally
        {
            foreach (var lane in lanes)
            {
                lane.Writer.TryComplete();
            }

            await Task.WhenAll(laneTasks).ConfigureAwait(false);

            // What was sent is not cancelled: a stop waits for its outcome, so the checkpoint is exact.
            for (var i = 0; i < PipelineWindow; i++)
            {
                await window.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        if (finished && _failure is null)
        {
            lock (_gate)
            {
                _readerBucket = _end;
            }
        }

        // The final checkpoint is written even when the caller cancelled: it is what makes the stop exact.
        var final = State();
        await _checkpoints.WriteCheckpointAsync(storageName, final.Format(), CancellationToken.None).ConfigureAwait(false);
        meter.Report(TimeBuckets.Count(_first, final.NextBucket, _incrementTicks), Delivered, force: true);

        if (_failure is not null)
        {
            ExceptionDispatchInfo.Throw(_failure);
        }

        if (!finished)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        return false;
    }

    /// <summary>The checkpoint the run has earned: everything before the first undelivered event of the read order.</summary>
    public ReplayCheckpoint State()
    {
        lock (_gate)
        {
            var next = _pending.Count > 0 ? _pending.Peek().Event.TimeBucket : _readerBucket;
            var last = _prefixBucket == next ? _prefixId : (TimeUuid?)null;
            return new ReplayCheckpoint(_name, _first, _end, next, last);
        }
    }

    /// <summary>The first bucket not fully delivered.</summary>
    private DateTime NextBucket()
    {
        lock (_gate)
        {
            return _pending.Count > 0 ? _pending.Peek().Event.TimeBucket : _readerBucket;
        }
    }

    private int LaneOf(RecordedEvent recorded)
    {
        if (_options.MaxParallelism == 1)
        {
            return 0;
        }

        var hash = recorded.Key is null ? (uint)recorded.EventId.GetHashCode() : StableHash(recorded.Key);
        return (int)(hash % (uint)_options.MaxParallelism);
    }

    /// <summary>FNV-1a over the key's UTF-16 code units: the same key lands on the same lane in every process and run.</summary>
    private static uint StableHash(string key)
    {
        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    private Entry Track(RecordedEvent recorded)
    {
        var entry = new Entry(recorded);
        lock (_gate)
        {
            _pending.Enqueue(entry);
            _readerBucket = recorded.TimeBucket;
        }

        return entry;
    }

    private void Complete(Entry entry)
    {
        lock (_gate)
        {
            entry.Done = true;
            while (_pending.Count > 0 && _pending.Peek().Done)
            {
                var head = _pending.Dequeue();
                _prefixBucket = head.Event.TimeBucket;
                _prefixId = head.Event.EventId;
            }
        }

        Interlocked.Increment(ref _delivered);
    }

    /// <summary>Sends one event to the pipeline; its acknowledgement completes the entry, its failure stops the run.</summary>
    private void Send(Entry entry, SemaphoreSlim window, CancellationTokenSource abort)
    {
        Task sent;
        try
        {
            sent = _send!(entry.Event, CancellationToken.None);
        }
        catch (Exception ex)
        {
            sent = Task.FromException(ex);
        }

        sent.ContinueWith(
            static (task, state) =>
            {
                var (run, entry, window, abort) = ((ManagedReplayRun, Entry, SemaphoreSlim, CancellationTokenSource))state!;
                if (task.IsCompletedSuccessfully)
                {
                    run.Complete(entry);
                }
                else
                {
                    lock (run._gate)
                    {
                        run._failure ??= task.Exception?.InnerException ?? new OperationCanceledException();
                    }

                    abort.Cancel();
                }

                window.Release();
            },
            (this, entry, window, abort),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task DeliverLaneAsync(ChannelReader<Entry> lane, CancellationTokenSource abort)
    {
        // Delivery is not cancelled by the caller's token: a stop lets queued events finish so the checkpoint is exact.
        // A failure anywhere cancels the others through abort.
        while (await lane.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (lane.TryRead(out var entry))
            {
                if (abort.IsCancellationRequested)
                {
                    continue; // drain without delivering: another lane failed
                }

                try
                {
                    await _target!(entry.Event, abort.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    lock (_gate)
                    {
                        _failure ??= ex;
                    }

                    await abort.CancelAsync().ConfigureAwait(false);
                    continue;
                }

                Complete(entry);
            }
        }
    }

    private sealed class Entry(RecordedEvent recorded)
    {
        public RecordedEvent Event { get; } = recorded;

        public bool Done { get; set; }
    }
}
