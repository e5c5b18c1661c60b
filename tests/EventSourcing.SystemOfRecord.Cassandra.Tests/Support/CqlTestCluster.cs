using System.Net.Sockets;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Support;

/// <summary>
/// Several <see cref="CqlServerMock"/> nodes over one database: a cluster whose nodes sit in data centers and racks,
/// listen on 127.0.0.1, 127.0.0.2, ... on one shared port (or on one address and several ports), can go down and up,
/// join and leave the ring, and tell the clients that registered for events, as Cassandra's nodes do.
/// </summary>
public sealed class CqlTestCluster : IAsyncDisposable
{
    private readonly List<CqlServerMock> _nodes;
    private readonly Action<CqlServerMock>? _configure;

    private CqlTestCluster(CqlTestDatabase database, List<CqlServerMock> nodes, Action<CqlServerMock>? configure)
    {
        Database = database;
        _nodes = nodes;
        _configure = configure;
    }

    public CqlTestDatabase Database { get; }

    public IReadOnlyList<CqlServerMock> Nodes
    {
        get
        {
            lock (_nodes)
            {
                return [.. _nodes];
            }
        }
    }

    public IList<string> ContactPoints => Nodes.Select(n => n.ContactPoint).ToList();

    /// <summary>The nodes of <paramref name="dataCenter"/>.</summary>
    public IReadOnlyList<CqlServerMock> In(string dataCenter) => Nodes.Where(n => n.Node.DataCenter == dataCenter).ToList();

    /// <summary><paramref name="nodes"/> nodes in one data center (datacenter1) and rack (rack1).</summary>
    public static Task<CqlTestCluster> StartAsync(int nodes, Action<CqlServerMock>? configure = null) =>
        StartAsync(Enumerable.Repeat(("datacenter1", "rack1"), nodes).ToList(), configure);

    /// <summary>A node per entry of <paramref name="layout"/>, in that data center and rack.</summary>
    public static async Task<CqlTestCluster> StartAsync(
        IReadOnlyList<(string DataCenter, string Rack)> layout, Action<CqlServerMock>? configure = null, bool distinctPorts = false, bool peersV2 = true)
    {
        // Nodes on 127.0.0.x share the port the first one got; should another process hold it on another address, start over.
        for (var attempt = 1; ; attempt++)
        {
            var database = new CqlTestDatabase(new CqlTestRing(layout, distinctPorts), peersV2);
            var servers = new List<CqlServerMock>();
            try
            {
                foreach (var node in database.Ring.Nodes)
                {
                    var server = new CqlServerMock(database, node.Index) { Port = distinctPorts || servers.Count == 0 ? 0 : servers[0].Port };
                    configure?.Invoke(server);
                    servers.Add(server);
                    await server.StartAsync();
                }

                return new CqlTestCluster(database, servers, configure);
            }
            catch (SocketException) when (attempt < 5)
            {
                foreach (var server in servers)
                {
                    await server.DisposeAsync();
                }
            }
        }
    }

    /// <summary>The other running nodes tell their registered clients that <paramref name="node"/> is up or down (it keeps running).</summary>
    public Task AnnounceAsync(int node, bool up) => PushFromOthersAsync(node, "STATUS_CHANGE", up ? "UP" : "DOWN");

    /// <summary>Stops a node; the others announce it down.</summary>
    public async Task StopNodeAsync(int node, bool announce = true)
    {
        await Nodes[node].StopAsync();
        if (announce)
        {
            await AnnounceAsync(node, up: false);
        }
    }

    /// <summary>Starts a stopped node again, on its address and port; the others announce it up.</summary>
    public async Task StartNodeAsync(int node, bool announce = true)
    {
        await Nodes[node].StartAsync();
        if (announce)
        {
            await AnnounceAsync(node, up: true);
        }
    }

    /// <summary>A new node joins the ring (its token halves the widest range); the others announce NEW_NODE.</summary>
    public async Task<CqlServerMock> AddNodeAsync(string dataCenter = "datacenter1", string rack = "rack1", bool announce = true)
    {
        var node = Database.Ring.Add(dataCenter, rack);
        var server = new CqlServerMock(Database, node.Index) { Port = Database.Ring.DistinctPorts ? 0 : Nodes[0].Port };
        _configure?.Invoke(server);
        await server.StartAsync();
        lock (_nodes)
        {
            _nodes.Add(server);
        }

        if (announce)
        {
            await PushFromOthersAsync(node.Index, "TOPOLOGY_CHANGE", "NEW_NODE");
        }

        return server;
    }

    /// <summary>A node leaves the ring (decommissioned): it stops, the others drop it from system.peers and announce REMOVED_NODE.</summary>
    public async Task RemoveNodeAsync(int node)
    {
        Database.Ring[node].InRing = false;
        await Nodes[node].StopAsync();
        await PushFromOthersAsync(node, "TOPOLOGY_CHANGE", "REMOVED_NODE");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }

    private async Task PushFromOthersAsync(int node, string eventType, string change)
    {
        var subject = Database.Ring[node];
        foreach (var other in Nodes.Where(n => n.NodeIndex != node))
        {
            await other.PushNodeEventAsync(eventType, change, subject);
        }
    }
}
