namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Knows, for one application instance, which buckets may hold events it recorded but has not yet seen published,
/// and so how far its publish watermark may go: every bucket before the watermark is known published.
/// </summary>
/// <remarks>
/// Ids are issued under the same lock that registers their bucket, so the watermark can never pass a bucket an
/// append is about to write to: every later id's bucket is at or after the last issued one.
/// </remarks>
internal sealed class PublishTracker
{
    private readonly object _gate = new();
    private readonly SortedDictionary<DateTime, int> _unacknowledged = [];
    private readonly SortedSet<DateTime> _deferred = [];
    private DateTime? _recoveryFrom;
    private long _lastIssuedTicks = long.MinValue;

    /// <summary>Deferred buckets awaiting republish, as of now.</summary>
    public int DeferredCount
    {
        get
        {
            lock (_gate)
            {
                return _deferred.Count;
            }
        }
    }

    /// <summary>Issues the next event id and registers its bucket as not yet published.</summary>
    public (TimeUuid Id, DateTime Bucket) Issue(TimeUuidGenerator ids, long incrementTicks)
    {
        lock (_gate)
        {
            var id = ids.Next();
            var timestamp = id.GetTimestamp().UtcDateTime;
            var bucket = TimeBuckets.Floor(timestamp, incrementTicks);
            _lastIssuedTicks = Math.Max(_lastIssuedTicks, timestamp.Ticks);
            _unacknowledged[bucket] = _unacknowledged.GetValueOrDefault(bucket) + 1;
            return (id, bucket);
        }
    }

    /// <summary>The event of <paramref name="bucket"/> was published, or never recorded: it no longer holds the watermark.</summary>
    public void Release(DateTime bucket)
    {
        lock (_gate)
        {
            ReleaseLocked(bucket);
        }
    }

    /// <summary>The event of <paramref name="bucket"/> was recorded but not published: the bucket waits for recovery.</summary>
    public void Defer(DateTime bucket)
    {
        lock (_gate)
        {
            _deferred.Add(bucket);
            ReleaseLocked(bucket);
        }
    }

    /// <summary>Holds the watermark at <paramref name="from"/> until the start-up recovery calls <see cref="RecoveryCompleted"/>.</summary>
    public void BeginRecovery(DateTime from)
    {
        lock (_gate)
        {
            _recoveryFrom = _recoveryFrom is { } current && current < from ? current : from;
        }
    }

    /// <summary>The start-up range was republished.</summary>
    public void RecoveryCompleted()
    {
        lock (_gate)
        {
            _recoveryFrom = null;
        }
    }

    /// <summary>Takes the oldest deferred bucket for a republish; it holds the watermark until released or deferred again.</summary>
    public bool TryTakeDeferred(out DateTime bucket)
    {
        lock (_gate)
        {
            if (_deferred.Count == 0)
            {
                bucket = default;
                return false;
            }

            bucket = _deferred.Min;
            _deferred.Remove(bucket);
            _unacknowledged[bucket] = _unacknowledged.GetValueOrDefault(bucket) + 1;
            return true;
        }
    }

    /// <summary>
    /// The bucket before which everything this instance recorded is known published: the oldest bucket that is
    /// unacknowledged, deferred or under start-up recovery, else the bucket any next event will fall in.
    /// </summary>
    public DateTime Watermark(DateTimeOffset now, long incrementTicks)
    {
        lock (_gate)
        {
            var next = TimeBuckets.Floor(new DateTime(Math.Max(now.UtcTicks, _lastIssuedTicks), DateTimeKind.Utc), incrementTicks);
            if (_unacknowledged.Count > 0)
            {
                next = Min(next, _unacknowledged.First().Key);
            }

            if (_deferred.Count > 0)
            {
                next = Min(next, _deferred.Min);
            }

            return _recoveryFrom is { } from ? Min(next, from) : next;
        }
    }

    private void ReleaseLocked(DateTime bucket)
    {
        if (_unacknowledged.TryGetValue(bucket, out var count))
        {
            if (count <= 1)
            {
                _unacknowledged.Remove(bucket);
            }
            else
            {
                _unacknowledged[bucket] = count - 1;
            }
        }
    }

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;
}
