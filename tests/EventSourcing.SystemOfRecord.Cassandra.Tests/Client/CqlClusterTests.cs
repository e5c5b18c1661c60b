using System.Security.Cryptography.X509Certificates;
using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Client;

public sealed class CqlClusterTests
{
    private const string CreateKeyspace = "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
    private const string CreateTable = "CREATE TABLE IF NOT EXISTS ks.kv (k text, n int, v text, PRIMARY KEY ((k), n))";
    private const string Insert = "INSERT INTO ks.kv (k, n, v) VALUES (?, ?, ?)";
    private const string Select = "SELECT n, v FROM ks.kv WHERE k = ?";

    private static CqlClientSettings Settings(IEnumerable<string> contactPoints, Func<CqlClientSettings, CqlClientSettings>? change = null)
    {
        var settings = new CqlClientSettings { ContactPoints = contactPoints.ToList(), RetryDelay = TimeSpan.FromMilliseconds(5), ReconnectDelay = TimeSpan.FromMilliseconds(50) };
        return change?.Invoke(settings) ?? settings;
    }

    private static CqlStatement Statement(string cql, params object?[] values) => new(cql, values, CassandraConsistency.LocalQuorum);

    private static async Task CreateSchemaAsync(CqlCluster cluster)
    {
        await cluster.ExecuteAsync(Statement(CreateKeyspace) with { Prepare = false });
        await cluster.ExecuteAsync(Statement(CreateTable) with { Prepare = false });
    }

    [TestCase("db1", "db1", 9042)]
    [TestCase(" db1:9142 ", "db1", 9142)]
    [TestCase("10.0.0.7:9043", "10.0.0.7", 9043)]
    [TestCase("::1", "::1", 9042)]
    [TestCase("[::1]:9044", "::1", 9044)]
    public void TryParseContactPoint_ValidForms_HostAndPort(string point, string host, int port)
    {
        Assert.That(CqlCluster.TryParseContactPoint(point, 9042), Is.EqualTo((host, port)));
    }

    [TestCase("")]
    [TestCase("db1:")]
    [TestCase("db1:70000")]
    [TestCase("db1:-1")]
    [TestCase("[::1]:x")]
    public void TryParseContactPoint_Invalid_Null(string point)
    {
        Assert.That(CqlCluster.TryParseContactPoint(point, 9042), Is.Null);
    }

    [Test]
    public async Task ExecuteAsync_PreparedInsertThenPagedSelect_ReturnsEveryRowAcrossPages()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        for (var n = 0; n < 25; n++)
        {
            await cluster.ExecuteAsync(Statement(Insert, "a", n, $"v{n}"));
        }

        var rows = new List<int>();
        await foreach (var row in cluster.QueryAsync(Statement(Select, "a") with { PageSize = 10 }))
        {
            rows.Add(row.Get<int>("n"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(rows, Is.EqualTo(Enumerable.Range(0, 25)));
            Assert.That(server.ReceivedCql.Count(c => c == Select), Is.EqualTo(4), "one PREPARE and three pages");
            Assert.That(server.RequestCount("Prepare"), Is.EqualTo(2), "each statement is prepared once");
        });
    }

    [Test]
    public async Task ExecuteBatchAsync_OnePartitionAfterRestart_ReprepareAndWritesEveryRow()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        await cluster.ExecuteBatchAsync([Statement(Insert, "b", 1, "x"), Statement(Insert, "b", 2, "y")]);
        await server.RestartAsync();
        await Eventually.UntilAsync(() => cluster.Hosts[0].IsAvailable(DateTime.UtcNow.Ticks), "the node is due for a retry");

        await cluster.ExecuteBatchAsync([Statement(Insert, "b", 3, "z"), Statement(Insert, "b", 4, "w")]);

        Assert.Multiple(() =>
        {
            Assert.That(server.Database.CountRows("ks", "kv"), Is.EqualTo(4));
            Assert.That(server.RequestCount("Batch"), Is.EqualTo(3), "two batches, one of them sent again after UNPREPARED");
        });
    }

    [Test]
    public async Task ExecuteAsync_ManyConcurrentRequests_MultiplexedOnOneConnection()
    {
        await using var server = new CqlServerMock { ResponseDelay = TimeSpan.FromMilliseconds(50) };
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        await CreateSchemaAsync(cluster);

        await Task.WhenAll(Enumerable.Range(0, 300).Select(n => cluster.ExecuteAsync(Statement(Insert, "m", n, "x"))));

        Assert.Multiple(() =>
        {
            Assert.That(server.Database.CountRows("ks", "kv"), Is.EqualTo(300));
            Assert.That(server.RequestCount("Startup") - server.RequestCount("Register"), Is.EqualTo(1), "one request connection (besides the control connection)");
        });
    }

    [Test]
    public async Task ExecuteAsync_ConnectionDropsWithRequestsInFlight_FailsEveryPendingRequestThenReconnects()
    {
        await using var server = new CqlServerMock { ResponseDelay = TimeSpan.FromSeconds(30) };
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        server.ResponseDelay = TimeSpan.Zero;
        await CreateSchemaAsync(cluster);
        await cluster.ExecuteAsync(Statement(Insert, "d", 0, "x"));
        server.ResponseDelay = TimeSpan.FromSeconds(30);

        var pending = Enumerable.Range(1, 10)
            .Select(n => cluster.ExecuteAsync(Statement(Insert, "d", n, "x") with { IsIdempotent = false }))
            .ToList();
        await Eventually.UntilAsync(() => server.RequestCount("Execute") >= 11, "the server received the requests");
        server.DropConnections();

        foreach (var request in pending)
        {
            Assert.That(async () => await request, Throws.InstanceOf<CassandraConnectionException>().With.Message.Contains("127.0.0.1"));
        }

        server.ResponseDelay = TimeSpan.Zero;
        await Eventually.UntilAsync(() => cluster.Hosts[0].IsAvailable(DateTime.UtcNow.Ticks), "the node is due for a retry");
        await cluster.ExecuteAsync(Statement(Insert, "d", 99, "after"));
        Assert.That(server.RequestCount("Startup") - server.RequestCount("Register"), Is.EqualTo(2), "a new request connection was opened");
    }

    [Test]
    public async Task ExecuteAsync_NodeRestartedAndForgotPreparedStatements_ReprepareAndSucceed()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        await cluster.ExecuteAsync(Statement(Insert, "r", 1, "before"));

        await server.RestartAsync();
        await Eventually.UntilAsync(() => cluster.Hosts[0].IsAvailable(DateTime.UtcNow.Ticks), "the node is due for a retry");
        await cluster.ExecuteAsync(Statement(Insert, "r", 2, "after"));

        Assert.Multiple(() =>
        {
            Assert.That(server.Database.CountRows("ks", "kv"), Is.EqualTo(2));
            Assert.That(server.RequestCount("Prepare"), Is.EqualTo(2), "prepared again after UNPREPARED");
        });
    }

    [Test]
    public async Task ExecuteAsync_TransientErrorsOfIdempotentStatement_RetriedUntilSuccess()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        server.FailNext(0x1000, 1, "INSERT");
        server.FailNext(0x1100, 1, "INSERT");
        server.FailNext(0x1001, 1, "INSERT");

        await cluster.ExecuteAsync(Statement(Insert, "t", 1, "x"));

        Assert.Multiple(() =>
        {
            Assert.That(server.Database.CountRows("ks", "kv"), Is.EqualTo(1));
            Assert.That(server.ReceivedCql.Count(c => c == Insert), Is.EqualTo(5), "one PREPARE, three failed and one successful EXECUTE");
        });
    }

    [Test]
    public async Task ExecuteAsync_TransientErrorOfNonIdempotentStatement_SurfacedAtOnce()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        server.FailNext(0x1100, 1, "INSERT");

        Assert.That(
            async () => await cluster.ExecuteAsync(Statement(Insert, "t", 1, "x") with { IsIdempotent = false }),
            Throws.InstanceOf<CassandraWriteTimeoutException>());
        Assert.That(server.Database.CountRows("ks", "kv"), Is.Zero);
    }

    [Test]
    public async Task ExecuteAsync_NonTransientError_SurfacedAtOnceWithoutRetry()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        server.FailNext(0x2200, 1, "INSERT");

        Assert.That(async () => await cluster.ExecuteAsync(Statement(Insert, "t", 1, "x")), Throws.InstanceOf<CassandraInvalidQueryException>());
        Assert.That(server.ReceivedCql.Count(c => c == Insert), Is.EqualTo(2), "one PREPARE, one EXECUTE");
    }

    [Test]
    public async Task ExecuteAsync_NoRetriesConfigured_TransientErrorSurfacedAtOnce()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint], s => new CqlClientSettings { ContactPoints = s.ContactPoints, MaxRetries = 0 }), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        server.FailNext(0x1001, 1, "INSERT");

        Assert.That(async () => await cluster.ExecuteAsync(Statement(Insert, "t", 1, "x")), Throws.InstanceOf<CassandraOverloadedException>());
        Assert.That(server.ReceivedCql.Count(c => c == Insert), Is.EqualTo(2), "one PREPARE, one EXECUTE");
    }

    [Test]
    public async Task ExecuteAsync_SyntaxError_TypedException()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);

        Assert.That(async () => await cluster.ExecuteAsync(Statement("SELEKT nonsense") with { Prepare = false }), Throws.InstanceOf<CassandraSyntaxException>());
    }

    [Test]
    public async Task ExecuteAsync_NoAnswerWithinTimeout_ThrowsConnectionExceptionNamingTimeout()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        server.ResponseDelay = TimeSpan.FromSeconds(30);

        var statement = Statement(Insert, "t", 1, "x") with { IsIdempotent = false, Timeout = TimeSpan.FromMilliseconds(200) };

        Assert.That(async () => await cluster.ExecuteAsync(statement), Throws.InstanceOf<CassandraConnectionException>().With.Message.Contains("did not answer"));
    }

    [Test]
    public async Task ExecuteAsync_Cancelled_ThrowsOperationCanceled()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        server.ResponseDelay = TimeSpan.FromSeconds(30);
        using var cts = new CancellationTokenSource();

        var running = cluster.ExecuteAsync(Statement(Insert, "t", 1, "x"), cts.Token);
        await Eventually.UntilAsync(() => server.RequestCount("Prepare") >= 1, "the request reached the server");
        await cts.CancelAsync();

        Assert.That(async () => await running, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task ExecuteAsync_ThreeNodes_RoundRobinOverAll()
    {
        await using var nodes = await CqlTestCluster.StartAsync(3);
        await using var cluster = new CqlCluster(Settings(nodes.ContactPoints), NullLogger.Instance);
        await CreateSchemaAsync(cluster);

        // Unprepared statements carry no routing information: they go round-robin.
        for (var n = 0; n < 30; n++)
        {
            await cluster.ExecuteAsync(Statement(Insert, "rr", n, "x") with { Prepare = false });
        }

        Assert.That(nodes.Nodes.Select(node => node.RequestCount("Query")), Has.All.GreaterThanOrEqualTo(10));
    }

    [Test]
    public async Task ExecuteAsync_TokenAware_SendsEachPartitionToItsOwner()
    {
        await using var nodes = await CqlTestCluster.StartAsync(3);
        await using var cluster = new CqlCluster(Settings(nodes.ContactPoints), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        await cluster.ExecuteAsync(Statement(Insert, "warm-up", 0, "x"));
        await Eventually.UntilAsync(() => cluster.Hosts.All(h => h.Tokens is not null), "every node's tokens are known");
        var before = nodes.Nodes.Select(n => (n.WritesForOtherNodes, n.RequestCount("Execute"))).ToList();

        for (var k = 0; k < 60; k++)
        {
            await cluster.ExecuteAsync(Statement(Insert, $"key-{k}", 0, "x"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(nodes.Nodes.Select((n, i) => n.WritesForOtherNodes - before[i].WritesForOtherNodes), Has.All.Zero, "every write went to its partition's owner");
            Assert.That(nodes.Nodes.Select((n, i) => n.RequestCount("Execute") - before[i].Item2), Has.All.GreaterThan(5), "the partitions spread over every node");
        });
    }

    [Test]
    public async Task ExecuteAsync_OneNodeOfThreeDown_FailsOverAndMarksItDown()
    {
        await using var nodes = await CqlTestCluster.StartAsync(3);
        await using var cluster = new CqlCluster(Settings(nodes.ContactPoints, s => new CqlClientSettings
        {
            ContactPoints = s.ContactPoints,
            RetryDelay = s.RetryDelay,
            ReconnectDelay = TimeSpan.FromMinutes(5),
        }), NullLogger.Instance);
        await CreateSchemaAsync(cluster);
        await nodes.Nodes[1].StopAsync();

        for (var n = 0; n < 30; n++)
        {
            await cluster.ExecuteAsync(Statement(Insert, "fo", n, "x"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(nodes.Nodes[0].Database.CountRows("ks", "kv"), Is.EqualTo(30));
            Assert.That(cluster.Hosts[1].IsDown, Is.True);
            Assert.That(cluster.Hosts[0].IsDown || cluster.Hosts[2].IsDown, Is.False);
        });
    }

    [Test]
    public async Task ExecuteAsync_EveryNodeDown_ThrowsConnectionExceptionNamingEachNode()
    {
        await using var nodes = await CqlTestCluster.StartAsync(2);
        var contactPoints = nodes.ContactPoints;
        foreach (var node in nodes.Nodes)
        {
            await node.StopAsync();
        }

        await using var cluster = new CqlCluster(Settings(contactPoints, s => new CqlClientSettings { ContactPoints = s.ContactPoints, MaxRetries = 1, RetryDelay = s.RetryDelay }), NullLogger.Instance);

        var ex = Assert.ThrowsAsync<CassandraConnectionException>(async () => await cluster.ExecuteAsync(Statement("SELECT n FROM ks.kv WHERE k = ?", "x")));
        Assert.That(ex!.Message, Does.Contain(contactPoints[0]).And.Contain(contactPoints[1]));
    }

    [Test]
    public async Task OpenAsync_PasswordAuthenticatorWithRightCredentials_Authenticates()
    {
        await using var server = new CqlServerMock { Credentials = ("app", "s3cret") };
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint], s => new CqlClientSettings { ContactPoints = s.ContactPoints, UserName = "app", Password = "s3cret" }), NullLogger.Instance);

        var result = await cluster.ExecuteAsync(Statement(CreateKeyspace) with { Prepare = false });

        Assert.Multiple(() =>
        {
            Assert.That(result, Is.InstanceOf<SchemaChangeResult>());
            Assert.That(server.RequestCount("AuthResponse"), Is.EqualTo(2), "the control connection and the request connection");
        });
    }

    [Test]
    public async Task OpenAsync_WrongPassword_AuthenticationExceptionNotRetried()
    {
        await using var server = new CqlServerMock { Credentials = ("app", "s3cret") };
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint], s => new CqlClientSettings { ContactPoints = s.ContactPoints, UserName = "app", Password = "wrong" }), NullLogger.Instance);

        var ex = Assert.ThrowsAsync<CassandraAuthenticationException>(async () => await cluster.ExecuteAsync(Statement(CreateKeyspace) with { Prepare = false }));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.IsTransient, Is.False);
            Assert.That(ex.Message, Does.Not.Contain("wrong"), "the password is never in a message");
            Assert.That(server.RequestCount("AuthResponse"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task OpenAsync_ServerRequiresAuthenticationButNoCredentials_AuthenticationException()
    {
        await using var server = new CqlServerMock { Credentials = ("app", "s3cret") };
        await server.StartAsync();
        await using var cluster = new CqlCluster(Settings([server.ContactPoint]), NullLogger.Instance);

        Assert.That(
            async () => await cluster.ExecuteAsync(Statement(CreateKeyspace) with { Prepare = false }),
            Throws.InstanceOf<CassandraAuthenticationException>().With.Message.Contains(CqlServerMock.Authenticator));
    }

    [Test]
    public async Task OpenAsync_TlsWithPinnedSelfSignedCertificate_QueriesOverTls()
    {
        using var certificate = CqlServerMock.CreateSelfSignedCertificate();
        await using var server = new CqlServerMock { Certificate = certificate, Credentials = ("app", "s3cret") };
        await server.StartAsync();
        X509Certificate? seen = null;
        var tls = new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, cert, _, _) =>
            {
                seen = cert;
                return cert is not null && cert.GetCertHashString() == certificate.GetCertHashString();
            },
        };
        await using var cluster = new CqlCluster(Settings([server.ContactPoint], s => new CqlClientSettings { ContactPoints = s.ContactPoints, Tls = tls, UserName = "app", Password = "s3cret" }), NullLogger.Instance);

        await CreateSchemaAsync(cluster);
        await cluster.ExecuteAsync(Statement(Insert, "tls", 1, "secret payload"));

        Assert.Multiple(() =>
        {
            Assert.That(server.Database.CountRows("ks", "kv"), Is.EqualTo(1));
            Assert.That(seen?.Subject, Is.EqualTo("CN=localhost"));
        });
    }

    [Test]
    public async Task OpenAsync_TlsWithUntrustedCertificate_ConnectionExceptionAndNothingSent()
    {
        using var certificate = CqlServerMock.CreateSelfSignedCertificate();
        await using var server = new CqlServerMock { Certificate = certificate };
        await server.StartAsync();
        var tls = new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "localhost" };
        await using var cluster = new CqlCluster(Settings([server.ContactPoint], s => new CqlClientSettings { ContactPoints = s.ContactPoints, Tls = tls, MaxRetries = 1, RetryDelay = s.RetryDelay }), NullLogger.Instance);

        Assert.That(async () => await cluster.ExecuteAsync(Statement(CreateKeyspace) with { Prepare = false }), Throws.InstanceOf<CassandraConnectionException>());
        Assert.That(server.RequestCount("Options"), Is.Zero);
    }

    [Test]
    public async Task WaitForSchemaAgreementAsync_NodesAgree_Returns()
    {
        await using var nodes = await CqlTestCluster.StartAsync(3);
        await using var cluster = new CqlCluster(Settings(nodes.ContactPoints), NullLogger.Instance);
        await CreateSchemaAsync(cluster);

        await cluster.WaitForSchemaAgreementAsync(CancellationToken.None);

        Assert.That(nodes.Nodes.Sum(n => n.ReceivedCql.Count(c => c.Contains("system.peers", StringComparison.Ordinal))), Is.GreaterThanOrEqualTo(1));
    }
}
