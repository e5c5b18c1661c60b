using System.Runtime.CompilerServices;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// An event store in process memory: for tests, samples and monoliths that can afford to lose it on restart.
/// Thread-safe; reads see a snapshot of each bucket. Keeps named checkpoints (<see cref="ICheckpointStore"/>) in memory too.
/// </summary>
public sealed class InMemoryEventStore : IEventStore, ICheckpointStore
{
    private readonly SortedDictionary<DateTime, List<RecordedEvent>> _buckets = [];
    private readonly SortedDictionary<string, string> _checkpoints = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private TimeSpan? _increment;

    /// <summary>The number of events held.</summary>
    public long Count { get; private set; }

    /// <inheritdoc />
    public ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _increment ??= bucketIncrement;
            if (_increment != bucketIncrement)
            {
                throw new BucketIncrementMismatchException(_increment.Value, bucketIncrement);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_increment);
        }
    }

    /// <inheritdoc />
    public ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_buckets.TryGetValue(recordedEvent.TimeBucket, out var events))
            {
                _buckets.Add(recordedEvent.TimeBucket, events = []);
            }

            // Ids mostly arrive in order, so this is nearly always an append at the end.
            var index = events.Count;
            while (index > 0 && events[index - 1].EventId.CompareTo(recordedEvent.EventId) > 0)
            {
                index--;
            }

            if (index > 0 && events[index - 1].EventId == recordedEvent.EventId)
            {
                events[index - 1] = recordedEvent; // an append of the same id overwrites, as Cassandra's upsert does
                return ValueTask.CompletedTask;
            }

            events.Insert(index, recordedEvent);
            Count++;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        bucket = UtcTime.Normalize(bucket, nameof(bucket));
        RecordedEvent[] snapshot;
        lock (_gate)
        {
            snapshot = _buckets.TryGetValue(bucket, out var events) ? [.. events] : [];
        }

        foreach (var recordedEvent in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return recordedEvent;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        fromBucket = UtcTime.Normalize(fromBucket, nameof(fromBucket));
        toExclusive = UtcTime.Normalize(toExclusive, nameof(toExclusive));
        DateTime[] buckets;
        lock (_gate)
        {
            buckets = [.. _buckets.Keys.Where(b => b >= fromBucket && b < toExclusive)];
        }

        foreach (var bucket in buckets)
        {
            await foreach (var recordedEvent in ReadBucketAsync(bucket, cancellationToken).ConfigureAwait(false))
            {
                yield return recordedEvent;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_checkpoints.TryGetValue(name, out var value) ? value : null);
        }
    }

    /// <inheritdoc />
    public ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            _checkpoints[name] = value;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var current = _checkpoints.TryGetValue(name, out var stored) ? stored : null;
            if (!string.Equals(current, expected, StringComparison.Ordinal))
            {
                return ValueTask.FromResult(false);
            }

            if (value is null)
            {
                _checkpoints.Remove(name);
            }
            else
            {
                _checkpoints[name] = value;
            }

            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            _checkpoints.Remove(name);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        KeyValuePair<string, string>[] snapshot;
        lock (_gate)
        {
            snapshot = [.. _checkpoints.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal))];
        }

        foreach (var checkpoint in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return checkpoint;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
