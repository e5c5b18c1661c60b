using System.Net;
using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Client;

/// <summary>
/// Discovery, data-center-aware routing and server events against test clusters on loopback: nodes on 127.0.0.1,
/// 127.0.0.2, ... sharing one port (or one address, a port each), in data centers and racks, that go down and up, join
/// and leave the ring, and push the events Cassandra pushes.
/// </summary>
[CancelAfter(60_000)]
public sealed class CqlClusterTopologyTests
{
    private const string CreateKeyspace = "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
    private const string CreateTable = "CREATE TABLE IF NOT EXISTS ks.kv (k text, n int, v text, PRIMARY KEY ((k), n))";
    private const string Insert = "INSERT INTO ks.kv (k, n, v) VALUES (?, ?, ?)";
    private const string Select = "SELECT n, v FROM ks.kv WHERE k = ?";

    private static readonly (string, string)[] ThreeNodes = [("dc1", "r1"), ("dc1", "r2"), ("dc1", "r1")];

    private static CqlCluster Client(IEnumerable<string> contactPoints, Func<CqlClientSettings, CqlClientSettings>? change = null)
    {
        var settings = new CqlClientSettings
        {
            ContactPoints = contactPoints.ToList(),
            RetryDelay = TimeSpan.FromMilliseconds(5),
            ReconnectDelay = TimeSpan.FromMinutes(5),
        };
        return new CqlCluster(change?.Invoke(settings) ?? settings, NullLogger.Instance);
    }

    private static CqlStatement Statement(string cql, params object?[] values) => new(cql, values, CassandraConsistency.LocalQuorum);

    private static async Task CreateSchemaAsync(CqlCluster cluster, string createKeyspace = CreateKeyspace)
    {
        await cluster.ExecuteAsync(Statement(createKeyspace) with { Prepare = false });
        await cluster.ExecuteAsync(Statement(CreateTable) with { Prepare = false });
    }

    private static async Task WriteAsync(CqlCluster cluster, int count, string prefix, bool prepare = true)
    {
        for (var i = 0; i < count; i++)
        {
            await cluster.ExecuteAsync(Statement(Insert, $"{prefix}-{i}", i, "x") with { Prepare = prepare });
        }
    }

    [Test]
    public async Task Discovery_OneContactPoint_FindsEveryNodeWithItsDataCenterRackAndTokensAndUsesIt()
    {
        await using var nodes = await CqlTestCluster.StartAsync(ThreeNodes);
        await using var cluster = Client([nodes.Nodes[0].ContactPoint]);
        await CreateSchemaAsync(cluster);

        await WriteAsync(cluster, 30, "rr", prepare: false);

        var expected = nodes.Nodes.Select(n => (n.Node.Endpoint, n.Node.DataCenter, n.Node.Rack, n.Node.Token)).ToList();
        var discovered = cluster.Hosts.Select(h => (new IPEndPoint(IPAddress.Parse(h.Address), h.Port), h.DataCenter, h.Node!.Rack, h.Tokens!.Single())).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(nodes.Nodes.Select(n => n.Node.Address.ToString()), Is.EqualTo(new[] { "127.0.0.1", "127.0.0.2", "127.0.0.3" }), "one address per node");
            Assert.That(discovered, Is.EquivalentTo(expected));
            Assert.That(nodes.Nodes.Select(n => n.Statements), Has.All.GreaterThanOrEqualTo(5), "round-robin reaches the discovered nodes");
            Assert.That(cluster.LocalDataCenter, Is.EqualTo("dc1"), "a single data center is the local one");
        });
    }

    [Test]
    public async Task Discovery_PeersV2WithAPortPerNode_ReachesEachNodeOnItsPort()
    {
        await using var nodes = await CqlTestCluster.StartAsync(ThreeNodes, distinctPorts: true);
        await using var cluster = Client([nodes.Nodes[0].ContactPoint]);
        await CreateSchemaAsync(cluster);

        await WriteAsync(cluster, 30, "ports", prepare: false);

        Assert.Multiple(() =>
        {
            Assert.That(nodes.Nodes.Select(n => n.Node.Port).Distinct().Count(), Is.EqualTo(3), "one address, three ports");
            Assert.That(cluster.Hosts.Select(h => h.Port), Is.EquivalentTo(nodes.Nodes.Select(n => n.Port)));
            Assert.That(nodes.Nodes.Select(n => n.Statements), Has.All.GreaterThanOrEqualTo(5));
        });
    }

    [Test]
    public async Task Discovery_NoPeersV2BeforeCassandra4_ReadsSystemPeers()
    {
        await using var nodes = await CqlTestCluster.StartAsync(ThreeNodes, peersV2: false);
        await using var cluster = Client([nodes.Nodes[1].ContactPoint]);
        await CreateSchemaAsync(cluster);

        await WriteAsync(cluster, 30, "v1", prepare: false);

        Assert.Multiple(() =>
        {
            Assert.That(nodes.Nodes[1].ReceivedCql.Count(c => c.Contains("system.peers_v2", StringComparison.Ordinal)), Is.EqualTo(1), "asked once, then not again");
            Assert.That(nodes.Nodes[1].ReceivedCql.Count(c => c.Contains("FROM system.peers", StringComparison.Ordinal) && !c.Contains("peers_v2", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(1));
            Assert.That(cluster.Hosts, Has.Count.EqualTo(3));
            Assert.That(nodes.Nodes.Select(n => n.Statements), Has.All.GreaterThanOrEqualTo(5));
        });
    }

    [TestCase(null, "set CassandraStoreOptions.LocalDataCenter")]
    [TestCase("dc9", "LocalDataCenter is 'dc9'")]
    public async Task Start_SeveralDataCentersAndNoOrAnUnknownLocalDataCenter_RefusesNamingTheDataCenters(string? localDataCenter, string expected)
    {
        await using var nodes = await CqlTestCluster.StartAsync([("dc1", "r1"), ("dc2", "r1")]);
        await using var cluster = Client([nodes.Nodes[0].ContactPoint], s => s with { LocalDataCenter = localDataCenter });

        Assert.That(
            async () => await CreateSchemaAsync(cluster),
            Throws.InvalidOperationException.With.Message.Contains(expected).And.Message.Contains("'dc1', 'dc2'"));
        Assert.That(nodes.Nodes.Select(n => n.Statements), Has.All.Zero, "nothing was run");
    }

    [Test]
    public async Task Store_LocalQuorumAcrossTwoDataCenters_EveryRequestCoordinatedByALocalReplica()
    {
        await using var nodes = await CqlTestCluster.StartAsync([("dc1", "r1"), ("dc2", "r1"), ("dc1", "r1"), ("dc2", "r1"), ("dc1", "r1"), ("dc2", "r1")]);
        var options = new CassandraStoreOptions
        {
            ContactPoints = [nodes.Nodes[1].ContactPoint],   // a contact point in the remote data center: discovery finds the local ones
            Keyspace = "sor",
            LocalDataCenter = "dc1",
            AllowRemoteDataCenters = true,
            Replication = new Dictionary<string, string> { ["class"] = "NetworkTopologyStrategy", ["dc1"] = "2", ["dc2"] = "2" },
        };
        await using var store = new CassandraEventStore(Options.Create(options));
        await store.EnsureCreatedAsync(TimeSpan.FromSeconds(15));
        var origin = new DateTime(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        var events = Enumerable.Range(0, 40).Select(i =>
        {
            var at = origin.AddSeconds(i * 7);
            return new RecordedEvent(new DateTime(at.Ticks - (at.Ticks % TimeSpan.FromSeconds(15).Ticks), DateTimeKind.Utc), TimeUuid.Create(new DateTimeOffset(at)), "orders", null, $"e{i}");
        }).ToList();

        foreach (var e in events)
        {
            await store.AppendAsync(e);
        }

        var read = new List<RecordedEvent>();
        await foreach (var e in store.ReadRangeAsync(origin, origin.AddMinutes(10)))
        {
            read.Add(e);
        }

        Assert.Multiple(() =>
        {
            Assert.That(read.Select(e => e.EventId), Is.EqualTo(events.Select(e => e.EventId)));
            Assert.That(nodes.In("dc2").Sum(n => n.Statements), Is.Zero, "no request was coordinated in dc2");
            Assert.That(nodes.In("dc1").Select(n => n.Statements), Has.All.GreaterThan(0), "the local nodes share the work");
            Assert.That(nodes.In("dc1").Sum(n => n.WritesForOtherNodes), Is.Zero, "every write went to a dc1 replica of its partition");
            Assert.That(nodes.Nodes[1].ConsistencyOf.Keys, Has.None.Contains("sor."), "the dc2 contact point only served discovery");
        });
    }

    [Test]
    public async Task ExecuteAsync_EveryLocalNodeDown_LocalQuorumFailsInsteadOfGoingRemoteButQuorumMayGo()
    {
        await using var nodes = await CqlTestCluster.StartAsync([("dc1", "r1"), ("dc2", "r1"), ("dc2", "r1")]);
        await using var cluster = Client([nodes.Nodes[0].ContactPoint], s => s with { LocalDataCenter = "dc1", AllowRemoteDataCenters = true, MaxRetries = 1 });
        await CreateSchemaAsync(cluster);
        await cluster.ExecuteAsync(Statement(Insert, "before", 0, "x"));
        await nodes.StopNodeAsync(0);

        Assert.That(
            async () => await cluster.ExecuteAsync(Statement(Insert, "local", 1, "x")),
            Throws.InstanceOf<CassandraConnectionException>().With.Message.Contains(nodes.Nodes[0].ContactPoint));
        Assert.That(nodes.In("dc2").Sum(n => n.Statements), Is.Zero, "LOCAL_QUORUM never goes to a remote coordinator");

        await cluster.ExecuteAsync(Statement(Insert, "quorum", 2, "x") with { Consistency = CassandraConsistency.Quorum });
        Assert.That(nodes.In("dc2").Sum(n => n.Statements), Is.EqualTo(1), "QUORUM may, when the option allows it");
    }

    [Test]
    public async Task ExecuteAsync_NodeAnnouncedDown_SkippedAtOnceAndUsedAgainWhenAnnouncedUp()
    {
        await using var nodes = await CqlTestCluster.StartAsync(ThreeNodes);
        await using var cluster = Client(nodes.ContactPoints);
        await CreateSchemaAsync(cluster);
        await WriteAsync(cluster, 15, "warm", prepare: false);
        Assert.That(nodes.Nodes[1].Statements, Is.GreaterThan(0));

        await nodes.AnnounceAsync(1, up: false);
        await Eventually.UntilAsync(() => cluster.Hosts[1].IsDown, "the DOWN event arrived");
        var before = nodes.Nodes[1].Statements;
        await WriteAsync(cluster, 30, "down", prepare: false);

        Assert.That(nodes.Nodes[1].Statements, Is.EqualTo(before), "the node still listens, but nothing was sent to it");

        await nodes.AnnounceAsync(1, up: true);
        await Eventually.UntilAsync(() => !cluster.Hosts[1].IsDown, "the UP event arrived");
        await WriteAsync(cluster, 30, "up", prepare: false);
        Assert.That(nodes.Nodes[1].Statements, Is.GreaterThan(before));
    }

    [Test]
    public async Task ExecuteAsync_NodeAddedToTheRing_GetsTheTrafficOfItsRange()
    {
        await using var nodes = await CqlTestCluster.StartAsync(ThreeNodes);
        await using var cluster = Client([nodes.Nodes[0].ContactPoint]);
        await CreateSchemaAsync(cluster);
        await WriteAsync(cluster, 10, "before");

        var added = await nodes.AddNodeAsync("dc1", "r2");
        await Eventually.UntilAsync(() => cluster.Hosts.Count == 4, "the NEW_NODE event brought the node in");
        var misrouted = nodes.Nodes.Sum(n => n.WritesForOtherNodes);
        await WriteAsync(cluster, 80, "after");

        Assert.Multiple(() =>
        {
            Assert.That(added.Node.Address.ToString(), Is.EqualTo("127.0.0.4"));
            Assert.That(added.Statements, Is.GreaterThan(5), "the new node coordinates the writes of its range");
            Assert.That(nodes.Nodes.Sum(n => n.WritesForOtherNodes), Is.EqualTo(misrouted), "each write went to its owner in the new ring");
        });
    }

    [Test]
    public async Task Routing_KeyspaceCreatedAfterStart_SchemaChangeEventTeachesItsReplicasWhichTakeTurns()
    {
        await using var nodes = await CqlTestCluster.StartAsync(ThreeNodes);
        await using var cluster = Client([nodes.Nodes[0].ContactPoint]);
        await cluster.ExecuteAsync(Statement("SELECT key FROM system.local WHERE key = 'local'") with { Prepare = false });

        // Created after discovery: only the SCHEMA_CHANGE event tells the client its replication (2 replicas in dc1).
        await CreateSchemaAsync(cluster, "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '2'}");
        await Eventually.UntilAsync(() => cluster.Topology.Ring.Knows("ks"), "the SCHEMA_CHANGE event brought the keyspace's replication");
        await cluster.ExecuteAsync(Statement(Insert, "hot", 0, "prepare"));
        var before = nodes.Nodes.Select(n => n.Statements).ToList();
        for (var n = 1; n <= 20; n++)
        {
            await cluster.ExecuteAsync(Statement(Insert, "hot", n, "x"));
        }

        var coordinated = nodes.Nodes.Select((node, i) => node.Statements - before[i]).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(coordinated.Count(c => c > 0), Is.EqualTo(2), "both replicas of the partition coordinate its writes, in turn");
            Assert.That(nodes.Nodes.Sum(n => n.WritesForOtherNodes), Is.Zero, "and only they do");
        });
    }

    [Test]
    public async Task Topology_NodeRemovedFromTheRing_DroppedAtOnce()
    {
        await using var nodes = await CqlTestCluster.StartAsync(ThreeNodes);
        await using var cluster = Client([nodes.Nodes[0].ContactPoint]);
        await CreateSchemaAsync(cluster);
        var leaving = nodes.Nodes[2].ContactPoint;

        await nodes.RemoveNodeAsync(2);
        await Eventually.UntilAsync(() => cluster.Hosts.Count == 2, "the REMOVED_NODE event dropped the node");

        Assert.That(cluster.Hosts.Select(h => h.Endpoint), Does.Not.Contain(leaving));
    }

    [Test]
    public async Task Topology_NodeJoinsWithoutAnEvent_FoundByThePeriodicRefresh()
    {
        await using var nodes = await CqlTestCluster.StartAsync(ThreeNodes);
        await using var cluster = Client([nodes.Nodes[0].ContactPoint], s => s with { TopologyRefreshInterval = TimeSpan.FromMilliseconds(200) });
        await CreateSchemaAsync(cluster);

        var added = await nodes.AddNodeAsync(announce: false);

        await Eventually.UntilAsync(() => cluster.Hosts.Any(h => h.Endpoint == added.ContactPoint), "a refresh found the node");
    }

    [Test]
    public async Task ControlConnection_ItsNodeStops_MovesToAnotherAndStillHearsEvents()
    {
        await using var nodes = await CqlTestCluster.StartAsync(ThreeNodes);
        await using var cluster = Client(nodes.ContactPoints, s => s with { ReconnectDelay = TimeSpan.FromMilliseconds(50) });
        await CreateSchemaAsync(cluster);
        Assert.That(cluster.Control.Host?.Endpoint, Is.EqualTo(nodes.Nodes[0].ContactPoint), "the first contact point");

        await nodes.StopNodeAsync(0, announce: false);

        // Moved once the new node saw the REGISTER and the client took that node as its control host: the client sets
        // the host after the REGISTER's answer, on a continuation a loaded machine may run after the event below.
        await Eventually.UntilAsync(
            () => nodes.Nodes[1].RegisteredConnections + nodes.Nodes[2].RegisteredConnections == 1
                && cluster.Control.Host is { } host && host.Endpoint != nodes.Nodes[0].ContactPoint,
            "the control connection moved");
        var watcher = nodes.Nodes[1].RegisteredConnections == 1 ? 1 : 2;
        var other = 3 - watcher;
        await nodes.AnnounceAsync(other, up: false);

        await Eventually.UntilAsync(() => cluster.Hosts[other].IsDown, "the event reached the new control connection");
        Assert.That(cluster.Control.Host?.Endpoint, Is.EqualTo(nodes.Nodes[watcher].ContactPoint));
    }

    [Test]
    public async Task Compression_Lz4OfferedAndAsked_EveryFrameCompressedBothWaysAndNothingLost()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = Client([server.ContactPoint], s => s with { Compression = CassandraCompression.Lz4 });
        await CreateSchemaAsync(cluster);
        var value = string.Concat(Enumerable.Repeat("compressible ✓ ", 200));

        for (var n = 0; n < 30; n++)
        {
            await cluster.ExecuteAsync(Statement(Insert, "lz4", n, value + n));
        }

        var rows = new List<string>();
        await foreach (var row in cluster.QueryAsync(Statement(Select, "lz4") with { PageSize = 7 }))
        {
            rows.Add(row.Get<string>("v"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(Enumerable.Range(0, 30).Select(n => value + n)));
            Assert.That(server.CompressedConnections, Is.EqualTo(2), "the control connection and the request connection");
            Assert.That(server.CompressedFramesReceived, Is.GreaterThanOrEqualTo(30 + 5), "the inserts and the pages came compressed");
        });
    }

    [Test]
    public async Task Compression_OfferedButNotAsked_OffByDefault()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = Client([server.ContactPoint]);

        await CreateSchemaAsync(cluster);

        Assert.Multiple(() =>
        {
            Assert.That(server.OfferCompression, Is.True);
            Assert.That(server.CompressedConnections + server.CompressedFramesReceived, Is.Zero);
        });
    }

    [Test]
    public async Task Compression_AskedButNotOffered_SpeaksUncompressed()
    {
        await using var server = new CqlServerMock { OfferCompression = false };
        await server.StartAsync();
        await using var cluster = Client([server.ContactPoint], s => s with { Compression = CassandraCompression.Lz4 });

        await CreateSchemaAsync(cluster);
        await cluster.ExecuteAsync(Statement(Insert, "plain", 1, "x"));

        Assert.Multiple(() =>
        {
            Assert.That(server.Database.CountRows("ks", "kv"), Is.EqualTo(1));
            Assert.That(server.CompressedFramesReceived, Is.Zero);
        });
    }

    [Test]
    public async Task SpeculativeExecution_SlowNode_TheNextNodeAnswersEveryReadButWritesWait()
    {
        await using var nodes = await CqlTestCluster.StartAsync(2);
        await using var cluster = Client(nodes.ContactPoints, s => s with
        {
            SpeculativeExecutionDelay = TimeSpan.FromMilliseconds(100),
            RequestTimeout = TimeSpan.FromMinutes(2),
        });
        await CreateSchemaAsync(cluster);
        await WriteAsync(cluster, 20, "spec");

        // Reads whose replica is node 0 only finish if node 1 is asked too (the test is cancelled long before 5 minutes).
        nodes.Nodes[0].ResponseDelay = TimeSpan.FromMinutes(5);
        var executesOnNode0 = nodes.Nodes[0].RequestCount("Execute");
        for (var i = 0; i < 20; i++)
        {
            var rows = new List<int>();
            await foreach (var row in cluster.QueryAsync(Statement(Select, $"spec-{i}")))
            {
                rows.Add(row.Get<int>("n"));
            }

            Assert.That(rows, Is.EqualTo(new[] { i }));
        }

        Assert.That(nodes.Nodes[0].RequestCount("Execute") - executesOnNode0, Is.GreaterThan(0), "some reads went to node 0 first (its answers are still on their way)");
        Assert.That(nodes.Nodes[1].ExecutedCql.Count(c => c == Select), Is.EqualTo(20), "node 1 answered every read");

        // A write is never sent twice: it waits for its node.
        nodes.Nodes[0].ResponseDelay = TimeSpan.FromMilliseconds(300);
        int Inserts() => nodes.Nodes.Sum(n => n.ExecutedCql.Count(c => c == Insert));
        var before = Inserts();
        for (var i = 0; i < 6; i++)
        {
            await cluster.ExecuteAsync(Statement(Insert, $"spec-{i}", 100, "again"));
        }

        Assert.That(Inserts() - before, Is.EqualTo(6), "one execution per write");
    }

    [Test]
    public async Task SpeculativeExecution_NoOtherNode_TheSlowReadStillAnswers()
    {
        await using var nodes = await CqlTestCluster.StartAsync(1);
        await using var cluster = Client(nodes.ContactPoints, s => s with { SpeculativeExecutionDelay = TimeSpan.FromMilliseconds(20) });
        await CreateSchemaAsync(cluster);
        await WriteAsync(cluster, 1, "alone");

        // Slower than the delay, with no node left to speculate on: the read waits for its node instead of being cancelled.
        nodes.Nodes[0].ResponseDelay = TimeSpan.FromMilliseconds(200);
        var rows = new List<int>();
        await foreach (var row in cluster.QueryAsync(Statement(Select, "alone-0")))
        {
            rows.Add(row.Get<int>("n"));
        }

        Assert.That(rows, Is.EqualTo(new[] { 0 }));
    }
}
