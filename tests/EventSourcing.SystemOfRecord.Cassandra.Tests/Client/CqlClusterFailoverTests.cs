using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Client;

/// <summary>Nodes that stall, answer garbage or hang up mid-frame: requests end within their timeout and fail over.</summary>
public sealed class CqlClusterFailoverTests
{
    private const string CreateKeyspace = "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
    private const string CreateTable = "CREATE TABLE IF NOT EXISTS ks.kv (k text, n int, v text, PRIMARY KEY ((k), n))";
    private const string Insert = "INSERT INTO ks.kv (k, n, v) VALUES (?, ?, ?)";

    private static CqlClientSettings Settings(IEnumerable<string> contactPoints, TimeSpan? requestTimeout = null) => new()
    {
        ContactPoints = contactPoints.ToList(),
        RetryDelay = TimeSpan.FromMilliseconds(5),
        ReconnectDelay = TimeSpan.FromSeconds(30),
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(12),
    };

    private static CqlStatement Statement(string cql, params object?[] values) => new(cql, values, CassandraConsistency.LocalQuorum);

    private static async Task CreateSchemaAsync(CqlCluster cluster)
    {
        await cluster.ExecuteAsync(Statement(CreateKeyspace) with { Prepare = false });
        await cluster.ExecuteAsync(Statement(CreateTable) with { Prepare = false });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SendAsync_NodeStopsReadingDuringALargeWrite_TimesOutAndBreaksTheConnection(CancellationToken cancellationToken)
    {
        await using var server = new CqlServerMock { Hostility = CqlHostility.StopReading };
        await server.StartAsync();
        await using var connection = await CqlConnection.OpenAsync("127.0.0.1", server.Port, Settings([server.ContactPoint]), NullLogger.Instance, cancellationToken);
        var large = new QueryRequest("SELECT '" + new string('x', 32 * 1024 * 1024) + "' FROM system.local", new CqlQueryParameters(CassandraConsistency.One));
        var started = DateTime.UtcNow;

        var send = connection.SendAsync(large, null, TimeSpan.FromMilliseconds(500), CancellationToken.None);

        Assert.That(async () => await send.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken), Throws.InstanceOf<CassandraConnectionException>().With.Message.Contains("did not take"));
        Assert.Multiple(() =>
        {
            Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(10)), "the write is bounded by the request timeout");
            Assert.That(connection.IsBroken, Is.True, "a half-written frame leaves the connection out of step");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SendAsync_CallerCancelsWhileTheNodeStopsReading_EndsPromptly(CancellationToken cancellationToken)
    {
        await using var server = new CqlServerMock { Hostility = CqlHostility.StopReading };
        await server.StartAsync();
        await using var connection = await CqlConnection.OpenAsync("127.0.0.1", server.Port, Settings([server.ContactPoint]), NullLogger.Instance, cancellationToken);
        var large = new QueryRequest("SELECT '" + new string('x', 32 * 1024 * 1024) + "' FROM system.local", new CqlQueryParameters(CassandraConsistency.One));
        using var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var send = connection.SendAsync(large, null, TimeSpan.FromMinutes(5), caller.Token);

        Assert.That(async () => await send.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken), Throws.InstanceOf<OperationCanceledException>().Or.InstanceOf<CassandraConnectionException>());
        Assert.That(connection.IsBroken, Is.True);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ExecuteAsync_OneNodeStopsReading_LargeWritesEndWithinTheTimeoutOnTheHealthyNode(CancellationToken cancellationToken)
    {
        await using var nodes = await CqlTestCluster.StartAsync(2);
        // The timeout also bounds each write on the healthy node, which takes up to 16 MiB queued on one connection: 1 s
        // was tight on a loaded machine, and a timeout there sends the retry to the stalled node first.
        await using var cluster = new CqlCluster(Settings(nodes.ContactPoints, TimeSpan.FromSeconds(3)), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        await cluster.ExecuteAsync(Statement(Insert, "warm-up", 0, "x"), cancellationToken);
        nodes.Nodes[0].Hostility = CqlHostility.StopReading;
        var message = new string('m', 1024 * 1024);
        var started = DateTime.UtcNow;

        var writes = Enumerable.Range(1, 16).Select(n => cluster.ExecuteAsync(Statement(Insert, $"stall-{n}", n, message), cancellationToken));
        await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(nodes.Nodes[1].Database.CountRows("ks", "kv"), Is.EqualTo(17), "every write landed");
            Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(30)));
            Assert.That(cluster.Hosts[0].IsDown, Is.True, "the stalled node's connection broke on a write timeout");
        });
    }

    [TestCase(CqlHostility.AnswerGarbage)]
    [TestCase(CqlHostility.CloseMidFrame)]
    public async Task ExecuteAsync_OneNodeHostile_EveryStatementFailsOverToTheOther(CqlHostility hostility)
    {
        await using var nodes = await CqlTestCluster.StartAsync(2);
        await using var cluster = new CqlCluster(Settings(nodes.ContactPoints, TimeSpan.FromSeconds(2)), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        nodes.Nodes[0].Hostility = hostility;

        for (var n = 0; n < 20; n++)
        {
            await cluster.ExecuteAsync(Statement(Insert, "hostile", n, "x") with { Prepare = false });
        }

        Assert.That(nodes.Nodes[1].Database.CountRows("ks", "kv"), Is.EqualTo(20));
    }

    [Test]
    public async Task DisposeAsync_OneNodeSentWhatCannotBeRead_StillClosesEveryConnection()
    {
        await using var nodes = await CqlTestCluster.StartAsync(2);
        var cluster = new CqlCluster(Settings(nodes.ContactPoints), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        await cluster.ExecuteAsync(Statement(Insert, "d", 0, "x") with { Prepare = false });
        await Eventually.UntilAsync(() => nodes.Nodes.All(n => n.ConnectedClients - n.RegisteredConnections == 1), "both nodes have a request connection");
        nodes.Nodes[0].RewriteResponse = (_, _, frame) => CqlConnectionTests.RowFrame(frame, "000B", "7FFFFFFFFFFFFFFF");
        nodes.Nodes[1].RewriteResponse = nodes.Nodes[0].RewriteResponse;
        for (var n = 0; n < 4; n++)
        {
            Assert.That(async () => await cluster.ExecuteAsync(Statement("SELECT n FROM ks.kv WHERE k = ?", "d") with { Prepare = false }), Throws.InstanceOf<CassandraException>());
        }

        // A healthy connection open beside the broken ones when the cluster is disposed. Both nodes answer again: which
        // node the insert goes to depends on whether discovery has learned the ring's tokens yet (a loaded machine raced it).
        nodes.Nodes[0].RewriteResponse = null;
        nodes.Nodes[1].RewriteResponse = null;
        await cluster.ExecuteAsync(Statement(Insert, "d", 1, "x") with { Prepare = false });

        Assert.That(async () => await cluster.DisposeAsync(), Throws.Nothing);
        await Eventually.UntilAsync(() => nodes.Nodes.All(n => n.ConnectedClients == 0), "every connection is closed");
    }
}
