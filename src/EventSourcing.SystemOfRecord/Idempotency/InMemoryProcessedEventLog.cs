namespace EventSourcing.SystemOfRecord;

/// <summary>
/// A bounded processed-event log in process memory. Ids are grouped by the hour of their event time, so pruning
/// and eviction drop whole hours at once; past <see cref="Capacity"/>, the oldest hours are evicted (those events
/// then count as unseen, or as older than the window if the handler's window is shorter). Lost on restart.
/// </summary>
public sealed class InMemoryProcessedEventLog : IProcessedEventLog
{
    private static readonly long HourTicks = TimeSpan.TicksPerHour;

    private readonly SortedDictionary<long, HashSet<TimeUuid>> _byHour = [];
    private readonly object _gate = new();
    private long _count;

    /// <summary>Creates a log that holds at most <paramref name="capacity"/> ids.</summary>
    /// <param name="capacity">The most ids kept; the default is one million.</param>
    public InMemoryProcessedEventLog(int capacity = 1_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
    }

    /// <summary>The most ids kept.</summary>
    public int Capacity { get; }

    /// <summary>The number of ids kept now.</summary>
    public long Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> IsProcessedAsync(TimeUuid eventId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_byHour.TryGetValue(HourOf(eventId), out var ids) && ids.Contains(eventId));
        }
    }

    /// <inheritdoc />
    public ValueTask MarkProcessedAsync(TimeUuid eventId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var hour = HourOf(eventId);
            if (!_byHour.TryGetValue(hour, out var ids))
            {
                _byHour.Add(hour, ids = []);
            }

            if (ids.Add(eventId))
            {
                _count++;
            }

            while (_count > Capacity && _byHour.Count > 1)
            {
                var oldest = _byHour.First();
                _byHour.Remove(oldest.Key);
                _count -= oldest.Value.Count;
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<long> PruneAsync(DateTimeOffset eventTimeBefore, CancellationToken cancellationToken = default)
    {
        long removed = 0;
        lock (_gate)
        {
            foreach (var (hour, ids) in _byHour.ToList())
            {
                if (hour + HourTicks <= eventTimeBefore.UtcTicks)
                {
                    _byHour.Remove(hour);
                    removed += ids.Count;
                }
                else if (hour <= eventTimeBefore.UtcTicks)
                {
                    removed += ids.RemoveWhere(id => id.GetTimestamp() < eventTimeBefore);
                }
                else
                {
                    break;
                }
            }

            _count -= removed;
        }

        return ValueTask.FromResult(removed);
    }

    private static long HourOf(TimeUuid id)
    {
        var ticks = id.GetTimestamp().UtcTicks;
        return ticks - (ticks % HourTicks);
    }
}
