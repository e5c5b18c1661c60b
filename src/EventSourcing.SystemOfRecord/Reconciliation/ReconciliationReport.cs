namespace EventSourcing.SystemOfRecord;

/// <summary>
/// What a reconciliation found: for each bucket that differs, the stored events a downstream lacks and the
/// ids it holds that the store does not. Holds only the differences, never the matching ids.
/// </summary>
public sealed class ReconciliationReport
{
    /// <summary>Creates a report.</summary>
    /// <param name="from">The first bucket compared.</param>
    /// <param name="to">The range end, exclusive.</param>
    /// <param name="bucketsCompared">Buckets compared.</param>
    /// <param name="storedEvents">Events the store holds in the range.</param>
    /// <param name="downstreamEvents">Distinct ids the downstream reported in the range.</param>
    /// <param name="differences">The buckets that differ, ascending.</param>
    /// <exception cref="ArgumentNullException"><paramref name="differences"/> is null.</exception>
    public ReconciliationReport(DateTime from, DateTime to, long bucketsCompared, long storedEvents, long downstreamEvents, IReadOnlyList<BucketDifference> differences)
    {
        ArgumentNullException.ThrowIfNull(differences);
        From = UtcTime.Normalize(from, nameof(from));
        To = UtcTime.Normalize(to, nameof(to));
        BucketsCompared = bucketsCompared;
        StoredEvents = storedEvents;
        DownstreamEvents = downstreamEvents;
        Differences = differences;
        foreach (var difference in differences)
        {
            MissingCount += difference.Missing.Count;
            UnexpectedCount += difference.Unexpected.Count;
        }
    }

    /// <summary>The first bucket compared (UTC).</summary>
    public DateTime From { get; }

    /// <summary>The range end, exclusive (UTC).</summary>
    public DateTime To { get; }

    /// <summary>Buckets compared, empty ones included.</summary>
    public long BucketsCompared { get; }

    /// <summary>Events the store holds in the range.</summary>
    public long StoredEvents { get; }

    /// <summary>Distinct ids the downstream reported in the range.</summary>
    public long DownstreamEvents { get; }

    /// <summary>The buckets that differ, in ascending bucket order; buckets that match are left out.</summary>
    public IReadOnlyList<BucketDifference> Differences { get; }

    /// <summary>Stored events the downstream lacks, over every bucket.</summary>
    public long MissingCount { get; }

    /// <summary>Ids the downstream holds that the store does not, over every bucket.</summary>
    public long UnexpectedCount { get; }

    /// <summary><see langword="true"/> when the downstream holds exactly the stored events.</summary>
    public bool IsConsistent => MissingCount == 0 && UnexpectedCount == 0;
}

/// <summary>How one bucket of a downstream differs from the store.</summary>
public sealed class BucketDifference
{
    /// <summary>Creates a bucket difference.</summary>
    /// <param name="bucket">The bucket start (UTC).</param>
    /// <param name="missing">Ids stored in the bucket that the downstream lacks, in event id order.</param>
    /// <param name="unexpected">Ids the downstream reported for the bucket that the store does not hold, in event id order.</param>
    /// <exception cref="ArgumentNullException">A list is null.</exception>
    public BucketDifference(DateTime bucket, IReadOnlyList<TimeUuid> missing, IReadOnlyList<TimeUuid> unexpected)
    {
        ArgumentNullException.ThrowIfNull(missing);
        ArgumentNullException.ThrowIfNull(unexpected);
        Bucket = UtcTime.Normalize(bucket, nameof(bucket));
        Missing = missing;
        Unexpected = unexpected;
    }

    /// <summary>The bucket start (UTC).</summary>
    public DateTime Bucket { get; }

    /// <summary>Ids stored in the bucket that the downstream lacks, in event id order: what a republish sends.</summary>
    public IReadOnlyList<TimeUuid> Missing { get; }

    /// <summary>
    /// Ids the downstream reported for the bucket that the store does not hold, in event id order: data that did
    /// not come from this system of record, or an id the downstream filed under the wrong bucket.
    /// </summary>
    public IReadOnlyList<TimeUuid> Unexpected { get; }
}
