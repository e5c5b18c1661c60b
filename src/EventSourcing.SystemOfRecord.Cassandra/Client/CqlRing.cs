using System.Collections.Concurrent;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// The Murmur3 token ring at one moment: every node's tokens in order, the keyspaces' replication, and the replicas of
/// each token range (worked out on first use and kept, per keyspace). Immutable: a topology change builds a new ring.
/// </summary>
internal sealed class CqlRing
{
    private readonly long[] _tokens;
    private readonly CqlHost[] _owners;
    private readonly IReadOnlyDictionary<string, CqlReplication> _keyspaces;
    private readonly Dictionary<string, int> _nodesPerDataCenter;
    private readonly Dictionary<string, int> _racksPerDataCenter;
    private readonly ConcurrentDictionary<CqlReplication, CqlHost[]?[]> _replicas = new();

    public CqlRing(IEnumerable<CqlHost> hosts, IReadOnlyDictionary<string, CqlReplication> keyspaces)
    {
        var members = hosts.Where(h => h.Tokens is { Length: > 0 }).ToList();
        var entries = members.SelectMany(h => h.Tokens!.Select(t => (Token: t, Host: h))).OrderBy(e => e.Token).ToArray();
        _tokens = entries.Select(e => e.Token).ToArray();
        _owners = entries.Select(e => e.Host).ToArray();
        _keyspaces = keyspaces;
        _nodesPerDataCenter = members.Where(h => h.Node is not null).GroupBy(h => h.Node!.DataCenter, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        _racksPerDataCenter = members.Where(h => h.Node is not null).GroupBy(h => h.Node!.DataCenter, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(h => h.Node!.Rack).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);
        DataCenterCount = members.Select(h => h.DataCenter).Distinct().Count();
    }

    public static CqlRing Empty { get; } = new([], new Dictionary<string, CqlReplication>());

    /// <summary>The node owning each ring position (the range ending at that position's token).</summary>
    public IReadOnlyList<CqlHost> Owners => _owners;

    public int DataCenterCount { get; }

    /// <summary>Whether the replication of <paramref name="keyspace"/> is known.</summary>
    public bool Knows(string keyspace) => _keyspaces.ContainsKey(keyspace);

    public int NodesIn(string dataCenter) => _nodesPerDataCenter.GetValueOrDefault(dataCenter);

    public int RacksIn(string dataCenter) => _racksPerDataCenter.GetValueOrDefault(dataCenter);

    /// <summary>
    /// The replicas of <paramref name="token"/> in <paramref name="keyspace"/>, in ring order; for a keyspace whose
    /// replication is unknown, the first node of each data center from the token on.
    /// </summary>
    public IReadOnlyList<CqlHost> Replicas(string? keyspace, long token)
    {
        if (_tokens.Length == 0)
        {
            return [];
        }

        var replication = keyspace is not null && _keyspaces.TryGetValue(keyspace, out var known) ? known : CqlReplication.FirstPerDataCenter;
        var cache = _replicas.GetOrAdd(replication, _ => new CqlHost[]?[_tokens.Length]);
        var position = Position(token);
        return cache[position] ??= replication.Replicas(this, position);
    }

    /// <summary>The ring position owning a token: the first token at or after it, wrapping around.</summary>
    private int Position(long token)
    {
        var index = Array.BinarySearch(_tokens, token);
        if (index < 0)
        {
            index = ~index;
        }

        return index == _tokens.Length ? 0 : index;
    }
}
