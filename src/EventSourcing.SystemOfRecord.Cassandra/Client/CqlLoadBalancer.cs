namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// Orders the nodes for one request, data-center-aware and token-aware: the partition's replicas in the local data
/// center first (rotated, so the replicas share the load), then the other local nodes (round-robin); then, only when
/// <see cref="CqlClientSettings.AllowRemoteDataCenters"/> allows it and the consistency is not a LOCAL_* one, the
/// nodes of other data centers. Nodes that are down and not yet due for another try come last, soonest due first,
/// so a request still tries them rather than fail without trying.
/// </summary>
internal sealed class CqlLoadBalancer(CqlClientSettings settings)
{
    private int _next = -1;

    /// <summary>The data center whose nodes coordinate; null treats every node as local (nothing discovered, or one DC).</summary>
    public string? LocalDataCenter { get; set; }

    public CqlQueryPlan Plan(CqlTopology topology, string? keyspace, long? token, CassandraConsistency consistency, CassandraConsistency? serialConsistency)
    {
        var hosts = topology.Hosts;
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)Math.Max(hosts.Count, 1));
        var now = settings.TimeProvider.GetUtcNow().UtcTicks;
        var remoteAllowed = settings.AllowRemoteDataCenters && !IsLocal(consistency) && serialConsistency is not CassandraConsistency.LocalSerial;

        var plan = new List<CqlHost>(hosts.Count);
        List<CqlHost>? down = null;
        if (token is { } t)
        {
            var replicas = topology.Ring.Replicas(keyspace, t).Where(IsInLocalDataCenter).ToList();
            for (var i = 0; i < replicas.Count; i++)
            {
                Add(replicas[(start + i) % replicas.Count]);
            }
        }

        for (var i = 0; i < hosts.Count; i++)
        {
            var host = hosts[(start + i) % hosts.Count];
            if (IsInLocalDataCenter(host) && !plan.Contains(host))
            {
                Add(host);
            }
        }

        if (remoteAllowed)
        {
            for (var i = 0; i < hosts.Count; i++)
            {
                var host = hosts[(start + i) % hosts.Count];
                if (!IsInLocalDataCenter(host))
                {
                    Add(host);
                }
            }
        }

        if (down is not null)
        {
            plan.AddRange(down.OrderBy(h => h.DownUntil));
        }

        return new CqlQueryPlan(plan);

        void Add(CqlHost host)
        {
            if (host.IsAvailable(now))
            {
                plan.Add(host);
            }
            else if (down is null || !down.Contains(host))
            {
                (down ??= []).Add(host);
            }
        }
    }

    /// <summary>LOCAL_ONE, LOCAL_QUORUM and LOCAL_SERIAL count replicas in the coordinator's data center.</summary>
    public static bool IsLocal(CassandraConsistency consistency) =>
        consistency is CassandraConsistency.LocalOne or CassandraConsistency.LocalQuorum or CassandraConsistency.LocalSerial;

    /// <summary>Whether a node is in the local data center (every node is while that is unknown).</summary>
    public bool IsInLocalDataCenter(CqlHost host) => LocalDataCenter is null || host.DataCenter is null || host.DataCenter == LocalDataCenter;
}
