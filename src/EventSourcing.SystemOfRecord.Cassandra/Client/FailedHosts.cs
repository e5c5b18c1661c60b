namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// The nodes whose connection failed during one call (broken, timed out, stalled): its retries try every other node
/// of the plan first, so they fail over instead of going back to the node that just failed. Thread-safe.
/// </summary>
internal sealed class FailedHosts
{
    private readonly HashSet<CqlHost> _hosts = [];

    public void Add(CqlHost host)
    {
        lock (_hosts)
        {
            _hosts.Add(host);
        }
    }

    /// <summary>The plan with the failed nodes moved to its end, in their order.</summary>
    public IEnumerable<CqlHost> Last(IEnumerable<CqlHost> plan)
    {
        CqlHost[] failed;
        lock (_hosts)
        {
            if (_hosts.Count == 0)
            {
                return plan;
            }

            failed = [.. _hosts];
        }

        var ordered = plan.ToList();
        return ordered.Where(h => !failed.Contains(h)).Concat(ordered.Where(failed.Contains));
    }
}
