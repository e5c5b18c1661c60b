namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// What the attempts of one call (the first try and its retries) learned. Nodes whose connection failed (broken, timed
/// out, stalled) go to the end of the plan of the later attempts, so that they fail over instead of going back to the
/// node that just failed. <see cref="MayHaveBeenApplied"/> says whether any attempt failed after its request may have
/// run (a write timeout, a connection lost after the request was sent): a write that then fails is indeterminate.
/// Thread-safe.
/// </summary>
internal sealed class CqlAttempts
{
    private readonly HashSet<CqlHost> _failedHosts = [];
    private volatile bool _mayHaveBeenApplied;

    /// <summary>Whether an attempt failed after its request may have been applied.</summary>
    public bool MayHaveBeenApplied => _mayHaveBeenApplied;

    /// <summary>Notes how an attempt on <paramref name="host"/> failed.</summary>
    public void Failed(CqlHost host, CassandraException error)
    {
        if (error.MayHaveBeenApplied)
        {
            _mayHaveBeenApplied = true;
        }

        if (error is CassandraConnectionException)
        {
            lock (_failedHosts)
            {
                _failedHosts.Add(host);
            }
        }
    }

    /// <summary>The plan with the nodes that failed moved to its end, in their order.</summary>
    public IEnumerable<CqlHost> FailedLast(IEnumerable<CqlHost> plan)
    {
        CqlHost[] failed;
        lock (_failedHosts)
        {
            if (_failedHosts.Count == 0)
            {
                return plan;
            }

            failed = [.. _failedHosts];
        }

        var ordered = plan.ToList();
        return ordered.Where(h => !failed.Contains(h)).Concat(ordered.Where(failed.Contains));
    }
}
