using System.Collections.Concurrent;

namespace EventSourcing.SystemOfRecord.Tests.Support;

/// <summary>
/// A publisher whose outcomes a test decides: it records the order of calls, can hold every acknowledgement until
/// released, and fails chosen events (for now or for good). Acknowledges at once otherwise.
/// </summary>
internal sealed class ScriptedPublisher : IEventPublisher
{
    private readonly ConcurrentQueue<RecordedEvent> _calls = new();
    private readonly ConcurrentQueue<RecordedEvent> _acknowledged = new();
    private readonly ConcurrentDictionary<TimeUuid, int> _transientFailuresLeft = new();
    private readonly ConcurrentDictionary<TimeUuid, bool> _refused = new();
    private TaskCompletionSource _gate = Open();
    private int _inFlight;
    private int _maxInFlight;

    /// <summary>Every call, in call order (retries included).</summary>
    public IReadOnlyList<RecordedEvent> Calls => [.. _calls];

    /// <summary>Events acknowledged, in acknowledgement order.</summary>
    public IReadOnlyList<RecordedEvent> Acknowledged => [.. _acknowledged];

    /// <summary>The most calls that waited for their acknowledgement at the same time.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public int InFlight => Volatile.Read(ref _inFlight);

    public PublishLimits Limits { get; set; } = PublishLimits.None;

    /// <summary>Any failure thrown when <see cref="FailEverything"/> is set (transient unless said otherwise).</summary>
    public Exception? FailEverything { get; set; }

    /// <summary>Holds every acknowledgement from now until <see cref="Release"/>.</summary>
    public void Hold() => Interlocked.Exchange(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release() => Volatile.Read(ref _gate).TrySetResult();

    /// <summary>The event's next <paramref name="times"/> publishes fail with a transient error.</summary>
    public void FailTransiently(TimeUuid id, int times) => _transientFailuresLeft[id] = times;

    /// <summary>The event is refused for good (a record the broker can never take).</summary>
    public void Refuse(TimeUuid id) => _refused[id] = true;

    public ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
    {
        _calls.Enqueue(recordedEvent);
        return new ValueTask(PublishCoreAsync(recordedEvent));
    }

    private async Task PublishCoreAsync(RecordedEvent recordedEvent)
    {
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while ((seen = Volatile.Read(ref _maxInFlight)) < now && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }

        try
        {
            await Volatile.Read(ref _gate).Task.ConfigureAwait(false);
            await Task.Yield();
            if (FailEverything is { } failure)
            {
                throw failure;
            }

            if (_refused.ContainsKey(recordedEvent.EventId))
            {
                throw new SystemOfRecordException($"refused {recordedEvent.EventId} for good");
            }

            if (_transientFailuresLeft.TryGetValue(recordedEvent.EventId, out var left) && left > 0)
            {
                _transientFailuresLeft[recordedEvent.EventId] = left - 1;
                throw new TransientFailure($"broker away for {recordedEvent.EventId}");
            }

            _acknowledged.Enqueue(recordedEvent);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    public sealed class TransientFailure(string message) : SystemOfRecordException(message)
    {
        public override bool IsTransient => true;
    }
}
