using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Client;

public sealed class CqlPagingTests
{
    private const string Insert = "INSERT INTO ks.kv (k, n, v) VALUES (?, ?, ?)";
    private const string Select = "SELECT n, v FROM ks.kv WHERE k = ?";

    private static CqlStatement Statement(string cql, params object?[] values) => new(cql, values, CassandraConsistency.LocalQuorum);

    [TestCase(16 * 1024 * 1024, 1_000_000L, 5000, 16)]
    [TestCase(16 * 1024 * 1024, 100L, 5000, 5000)]
    [TestCase(16 * 1024 * 1024, 300_000_000L, 5000, 1)]
    [TestCase(1024, 10L, 50, 50)]
    public void RowsFor_BudgetOverRowSize_ClampedToOneAndTheRowLimit(int pageBytes, long rowBytes, int maxRows, int expected)
    {
        Assert.That(CqlPaging.RowsFor(pageBytes, rowBytes, maxRows), Is.EqualTo(expected));
    }

    [Test]
    public async Task QueryByBytesAsync_RowsFarLargerThanThoseBefore_PageOverTheLimitAskedAgainWithFewerRows()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        var settings = new CqlClientSettings { ContactPoints = [server.ContactPoint], MaxFrameBodyBytes = 1024 * 1024, RetryDelay = TimeSpan.FromMilliseconds(5) };
        await using var cluster = new CqlCluster(settings, NullLogger.Instance);
        await cluster.ExecuteAsync(Statement("CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}") with { Prepare = false });
        await cluster.ExecuteAsync(Statement("CREATE TABLE IF NOT EXISTS ks.kv (k text, n int, v text, PRIMARY KEY ((k), n))") with { Prepare = false });
        var large = new string('L', 100 * 1024);
        for (var n = 0; n < 100; n++)
        {
            await cluster.ExecuteAsync(Statement(Insert, "p", n, n < 50 ? "s" : large));
        }

        var read = new List<int>();
        await foreach (var row in cluster.QueryByBytesAsync(Statement(Select, "p"), maxRows: 100, pageBytes: 256 * 1024))
        {
            Assert.That(row.Get<string>("v"), Has.Length.EqualTo(row.Get<int>("n") < 50 ? 1 : large.Length));
            read.Add(row.Get<int>("n"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo(Enumerable.Range(0, 100)));
            Assert.That(cluster.Hosts[0].IsDown, Is.False, "a page over the limit says nothing against the node");
            Assert.That(server.RequestCount("Startup") - server.RequestCount("Register"), Is.EqualTo(2), "the oversized page closed one request connection");
        });
    }
}
