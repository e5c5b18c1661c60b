using System.Net;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Support;

/// <summary>One node of the test cluster: where it listens, and where it sits in the ring.</summary>
public sealed class CqlTestNode
{
    public required int Index { get; init; }

    public required IPAddress Address { get; init; }

    /// <summary>The native protocol port, known once its server listens.</summary>
    public int Port { get; set; }

    public required string DataCenter { get; init; }

    public required string Rack { get; init; }

    public required long Token { get; init; }

    /// <summary>Whether the node is part of the ring (listed in system.peers); false once removed.</summary>
    public bool InRing { get; set; } = true;

    public Guid HostId => new($"00000000-0000-4000-8000-{Index + 1:D12}");

    public IPEndPoint Endpoint => new(Address, Port);
}

/// <summary>
/// The test cluster's ring: nodes with one token each, data centers and racks, and which nodes hold a partition's
/// replicas under a keyspace's replication (SimpleStrategy, or NetworkTopologyStrategy without rack awareness).
/// Written for the tests, separately from the client's ring code.
/// </summary>
public sealed class CqlTestRing
{
    private readonly object _lock = new();
    private readonly List<CqlTestNode> _nodes = [];

    /// <param name="layout">The data center and rack of each node; the tokens split the ring evenly.</param>
    /// <param name="distinctPorts">
    /// False: node i listens on 127.0.0.(i+1), every node on the same port, like a real cluster. True: every node on
    /// 127.0.0.1, each on its own port (only system.peers_v2 can tell the ports apart).
    /// </param>
    public CqlTestRing(IReadOnlyList<(string DataCenter, string Rack)> layout, bool distinctPorts = false)
    {
        DistinctPorts = distinctPorts;
        for (var i = 0; i < layout.Count; i++)
        {
            var token = unchecked((long)(0x8000_0000_0000_0000UL + ((ulong)(i + 1) * (ulong.MaxValue / (ulong)layout.Count))));
            _nodes.Add(new CqlTestNode { Index = i, Address = AddressOf(i), DataCenter = layout[i].DataCenter, Rack = layout[i].Rack, Token = token });
        }
    }

    public static CqlTestRing SingleNode() => new([("datacenter1", "rack1")]);

    public bool DistinctPorts { get; }

    public IReadOnlyList<CqlTestNode> Nodes
    {
        get
        {
            lock (_lock)
            {
                return [.. _nodes];
            }
        }
    }

    public CqlTestNode this[int index] => Nodes[index];

    /// <summary>A new node, its token in the middle of the widest range (it takes half of that node's data).</summary>
    public CqlTestNode Add(string dataCenter, string rack)
    {
        lock (_lock)
        {
            var tokens = _nodes.Where(n => n.InRing).Select(n => n.Token).Order().ToList();
            ulong widest = 0;
            var start = tokens[0];
            for (var i = 0; i < tokens.Count; i++)
            {
                var from = tokens[i];
                var gap = unchecked((ulong)(tokens[(i + 1) % tokens.Count] - from));
                if (gap > widest || tokens.Count == 1)
                {
                    widest = tokens.Count == 1 ? ulong.MaxValue : gap;
                    start = from;
                }
            }

            var node = new CqlTestNode
            {
                Index = _nodes.Count,
                Address = AddressOf(_nodes.Count),
                DataCenter = dataCenter,
                Rack = rack,
                Token = unchecked(start + (long)(widest / 2)),
            };
            _nodes.Add(node);
            return node;
        }
    }

    /// <summary>The nodes holding a token's replicas, ring order; the first is its owner.</summary>
    public IReadOnlyList<CqlTestNode> ReplicasOf(long token, IReadOnlyDictionary<string, string>? replication)
    {
        var members = Nodes.Where(n => n.InRing).OrderBy(n => n.Token).ToList();
        var first = members.FindIndex(n => n.Token >= token);
        var walk = Enumerable.Range(0, members.Count).Select(i => members[((first < 0 ? 0 : first) + i) % members.Count]).ToList();
        var strategy = replication?.GetValueOrDefault("class") ?? string.Empty;
        if (strategy.EndsWith("SimpleStrategy", StringComparison.Ordinal))
        {
            return walk.Take(int.Parse(replication!["replication_factor"], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        }

        if (strategy.EndsWith("NetworkTopologyStrategy", StringComparison.Ordinal))
        {
            return walk.GroupBy(n => n.DataCenter)
                .SelectMany(dc => dc.Take(replication!.TryGetValue(dc.Key, out var rf) ? int.Parse(rf, System.Globalization.CultureInfo.InvariantCulture) : 0))
                .OrderBy(n => walk.IndexOf(n))
                .ToList();
        }

        return walk.Take(1).ToList();
    }

    private IPAddress AddressOf(int index) => DistinctPorts ? IPAddress.Loopback : new IPAddress([127, 0, 0, (byte)(index + 1)]);
}
