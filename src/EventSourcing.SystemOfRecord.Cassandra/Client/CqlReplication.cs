using System.Globalization;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// A keyspace's replication strategy (its <c>replication</c> map in <c>system_schema.keyspaces</c>), and where it puts
/// the replicas of a token: the same walk along the ring Cassandra makes.
/// </summary>
internal abstract class CqlReplication
{
    /// <summary>
    /// The strategy of a replication map; for strategies this client does not model (LocalStrategy, EverywhereStrategy,
    /// custom ones), <see cref="FirstPerDataCenter"/>.
    /// </summary>
    public static CqlReplication Parse(IReadOnlyDictionary<string, string> replication)
    {
        var strategy = replication.TryGetValue("class", out var name) ? name : string.Empty;
        if (strategy.EndsWith("SimpleStrategy", StringComparison.Ordinal)
            && replication.TryGetValue("replication_factor", out var factor) && ReplicationFactor(factor) is { } rf)
        {
            return new Simple(rf);
        }

        if (strategy.EndsWith("NetworkTopologyStrategy", StringComparison.Ordinal))
        {
            var perDataCenter = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (key, value) in replication)
            {
                if (key != "class" && ReplicationFactor(value) is { } replicas)
                {
                    perDataCenter[key] = replicas;
                }
            }

            return new NetworkTopology(perDataCenter);
        }

        return FirstPerDataCenter;
    }

    /// <summary>The first node of each data center from the token on: a replica in every data center under NetworkTopologyStrategy.</summary>
    public static CqlReplication FirstPerDataCenter { get; } = new FirstOfEachDataCenter();

    /// <summary>The replicas of the token range ending at ring position <paramref name="position"/>, in ring order.</summary>
    public abstract CqlHost[] Replicas(CqlRing ring, int position);

    // "3", or "3/1" (Cassandra 4's transient replication: full/transient): the number of full replicas.
    private static int? ReplicationFactor(string value)
    {
        var full = value.Split('/')[0];
        return int.TryParse(full, NumberStyles.None, CultureInfo.InvariantCulture, out var rf) && rf > 0 ? rf : null;
    }

    /// <summary>SimpleStrategy: the next <c>replication_factor</c> distinct nodes along the ring.</summary>
    private sealed class Simple(int replicationFactor) : CqlReplication
    {
        public override CqlHost[] Replicas(CqlRing ring, int position)
        {
            var owners = ring.Owners;
            var replicas = new List<CqlHost>(replicationFactor);
            for (var i = 0; i < owners.Count && replicas.Count < replicationFactor; i++)
            {
                var host = owners[(position + i) % owners.Count];
                if (!replicas.Contains(host))
                {
                    replicas.Add(host);
                }
            }

            return [.. replicas];
        }
    }

    /// <summary>
    /// NetworkTopologyStrategy: per data center, the next nodes along the ring, each new rack first; once every rack of
    /// the data center has a replica, the nodes skipped for sharing a rack fill the remaining places in ring order.
    /// </summary>
    private sealed class NetworkTopology(Dictionary<string, int> perDataCenter) : CqlReplication
    {
        public override CqlHost[] Replicas(CqlRing ring, int position)
        {
            var owners = ring.Owners;
            var wanted = perDataCenter
                .Where(pair => ring.NodesIn(pair.Key) > 0)
                .ToDictionary(pair => pair.Key, pair => Math.Min(pair.Value, ring.NodesIn(pair.Key)), StringComparer.Ordinal);

            var replicas = new List<CqlHost>();
            var placed = new Dictionary<string, int>(StringComparer.Ordinal);
            var seenRacks = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            var skipped = new Dictionary<string, List<CqlHost>>(StringComparer.Ordinal);
            for (var i = 0; i < owners.Count && wanted.Any(w => placed.GetValueOrDefault(w.Key) < w.Value); i++)
            {
                var host = owners[(position + i) % owners.Count];
                if (host.Node is not { } node || !wanted.TryGetValue(node.DataCenter, out var want)
                    || placed.GetValueOrDefault(node.DataCenter) >= want || replicas.Contains(host))
                {
                    continue;
                }

                var racks = seenRacks.TryGetValue(node.DataCenter, out var seen) ? seen : seenRacks[node.DataCenter] = new HashSet<string>(StringComparer.Ordinal);
                var waiting = skipped.TryGetValue(node.DataCenter, out var list) ? list : skipped[node.DataCenter] = [];
                if (racks.Add(node.Rack))
                {
                    Place(host);
                    if (racks.Count == ring.RacksIn(node.DataCenter))
                    {
                        // Every rack has a replica now: the nodes passed over for their rack come next, in ring order.
                        foreach (var passed in waiting.Where(_ => placed[node.DataCenter] < want).ToList())
                        {
                            Place(passed);
                        }

                        waiting.Clear();
                    }
                }
                else if (racks.Count == ring.RacksIn(node.DataCenter))
                {
                    Place(host);
                }
                else if (!waiting.Contains(host))
                {
                    waiting.Add(host);
                }
            }

            return [.. replicas];

            void Place(CqlHost host)
            {
                if (placed.GetValueOrDefault(host.DataCenter!) < wanted[host.DataCenter!] && !replicas.Contains(host))
                {
                    replicas.Add(host);
                    placed[host.DataCenter!] = placed.GetValueOrDefault(host.DataCenter!) + 1;
                }
            }
        }
    }

    private sealed class FirstOfEachDataCenter : CqlReplication
    {
        public override CqlHost[] Replicas(CqlRing ring, int position)
        {
            var owners = ring.Owners;
            var replicas = new List<CqlHost>();
            for (var i = 0; i < owners.Count && replicas.Count < ring.DataCenterCount; i++)
            {
                var host = owners[(position + i) % owners.Count];
                if (!replicas.Contains(host) && !replicas.Any(r => r.DataCenter == host.DataCenter))
                {
                    replicas.Add(host);
                }
            }

            return [.. replicas];
        }
    }
}
