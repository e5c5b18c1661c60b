using System.Net;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// The nodes the client knows: the contact points until discovery, then every node <c>system.local</c> and
/// <c>system.peers</c> list, kept in step with the ring by the control connection. Readers get a consistent
/// snapshot (hosts and ring) without locking; only discovery writes.
/// </summary>
internal sealed class CqlTopology
{
    private readonly object _gate = new();
    private readonly CqlClientSettings _settings;
    private readonly ILogger _logger;
    private State _state;

    public CqlTopology(IEnumerable<CqlHost> contactPoints, CqlClientSettings settings, ILogger logger)
    {
        _settings = settings;
        _logger = logger;
        _state = new State([.. contactPoints], CqlRing.Empty);
    }

    /// <summary>Every known node: contact points first (in their order), then discovered ones in the order found.</summary>
    public IReadOnlyList<CqlHost> Hosts => Volatile.Read(ref _state).Hosts;

    public CqlRing Ring => Volatile.Read(ref _state).Ring;

    /// <summary>The data centers of the discovered nodes, in ordinal order.</summary>
    public IReadOnlyList<string> DataCenters =>
        Hosts.Select(h => h.DataCenter).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>The node a server event names: by native address and port, else by address alone when that is unambiguous.</summary>
    public CqlHost? Find(IPEndPoint endpoint)
    {
        var hosts = Hosts;
        var exact = hosts.FirstOrDefault(h => endpoint.Equals(h.Node?.RpcEndpoint));
        if (exact is not null)
        {
            return exact;
        }

        var sameAddress = hosts.Where(h => endpoint.Address.Equals(h.Node?.RpcEndpoint.Address)).Take(2).ToList();
        return sameAddress.Count == 1 ? sameAddress[0] : null;
    }

    /// <summary>
    /// Makes the known nodes those discovery read: a node keeps its <see cref="CqlHost"/> (and connection) when its host
    /// id, or for the node the control connection is on, that connection says it is the same; nodes no longer listed are
    /// dropped and returned, for the caller to close.
    /// </summary>
    /// <param name="controlHost">The node the rows were read from; <paramref name="local"/> describes it.</param>
    /// <param name="local">The node's own row (system.local).</param>
    /// <param name="peers">Its peers' rows.</param>
    /// <param name="keyspaces">The keyspaces' replication.</param>
    public IReadOnlyList<CqlHost> Apply(CqlHost controlHost, CqlNodeInfo local, IReadOnlyList<CqlNodeInfo> peers, IReadOnlyDictionary<string, CqlReplication> keyspaces)
    {
        lock (_gate)
        {
            var current = _state.Hosts;
            var kept = new List<CqlHost>(peers.Count + 1);
            var added = new List<CqlHost>();
            foreach (var node in peers.Prepend(local))
            {
                var host = ReferenceEquals(node, local)
                    ? controlHost
                    : current.FirstOrDefault(h => h.Node?.HostId == node.HostId)
                      ?? current.FirstOrDefault(h => h.Node is null && IsAt(h, node.RpcEndpoint));
                if (host is not null && kept.Contains(host))
                {
                    continue; // a second row for a node already listed
                }

                if (host is null)
                {
                    host = new CqlHost(node.RpcEndpoint.Address.ToString(), node.RpcEndpoint.Port, _settings, _logger);
                    added.Add(host);
                }

                host.Describe(node);
                kept.Add(host);
            }

            // Keep the known nodes' order (contact points first); new ones go last.
            var hosts = current.Where(kept.Contains).Concat(added).ToArray();
            var removed = current.Where(h => !kept.Contains(h)).ToList();
            Volatile.Write(ref _state, new State(hosts, new CqlRing(hosts, keyspaces)));
            return removed;
        }
    }

    private static bool IsAt(CqlHost host, IPEndPoint endpoint) =>
        host.Port == endpoint.Port && IPAddress.TryParse(host.Address, out var address) && address.Equals(endpoint.Address);

    private sealed record State(CqlHost[] Hosts, CqlRing Ring);
}
