namespace EventSourcing.SystemOfRecord;

/// <summary>What one run of a managed replay did.</summary>
public sealed class ReplayResult
{
    /// <summary>Creates a replay result.</summary>
    /// <param name="name">The replay's name.</param>
    /// <param name="from">The first bucket of the replay's range (UTC).</param>
    /// <param name="to">The range end, exclusive (UTC).</param>
    /// <param name="resumedFrom">The bucket this run started at when it resumed an earlier run, or <see langword="null"/> for a fresh start.</param>
    /// <param name="eventsDelivered">Events this run delivered.</param>
    /// <param name="bucketsTotal">Buckets in the range.</param>
    /// <param name="elapsed">How long this run took.</param>
    public ReplayResult(string name, DateTime from, DateTime to, DateTime? resumedFrom, long eventsDelivered, long bucketsTotal, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        From = from;
        To = to;
        ResumedFrom = resumedFrom;
        EventsDelivered = eventsDelivered;
        BucketsTotal = bucketsTotal;
        Elapsed = elapsed;
    }

    /// <summary>The replay's name.</summary>
    public string Name { get; }

    /// <summary>The first bucket of the replay's range (UTC).</summary>
    public DateTime From { get; }

    /// <summary>The range end, exclusive (UTC).</summary>
    public DateTime To { get; }

    /// <summary>
    /// The bucket this run started at when it resumed an earlier run from its checkpoint (equal to <see cref="To"/> when
    /// that run had already completed), or <see langword="null"/> when this run started the replay.
    /// </summary>
    public DateTime? ResumedFrom { get; }

    /// <summary>Events this run delivered (earlier runs not included).</summary>
    public long EventsDelivered { get; }

    /// <summary>Buckets in the range.</summary>
    public long BucketsTotal { get; }

    /// <summary>How long this run took, on the system of record's <see cref="TimeProvider"/>.</summary>
    public TimeSpan Elapsed { get; }
}
