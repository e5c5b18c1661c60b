using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Storage;

/// <summary>Tables created by the first release gain the new event columns; compare-and-set is a lightweight transaction.</summary>
public sealed class CassandraEventStoreSchemaTests
{
    // The events table as the first release created it, before type, content type, instance and trace context.
    private const string FirstReleaseEvents = "CREATE TABLE IF NOT EXISTS sor.events (time_bucket timestamp, event_id timeuuid, ts timestamp, "
        + "message text, topic text, key text, headers map<text, text>, PRIMARY KEY ((time_bucket), event_id)) WITH CLUSTERING ORDER BY (event_id ASC)";

    private static readonly DateTime Bucket = new(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    private CqlServerMock _server = default!;

    [SetUp]
    public async Task StartServerAsync()
    {
        _server = new CqlServerMock();
        await _server.StartAsync();
    }

    [TearDown]
    public async Task StopServerAsync() => await _server.DisposeAsync();

    private CassandraEventStore Store(Action<CassandraStoreOptions>? configure = null)
    {
        var options = new CassandraStoreOptions { ContactPoints = [_server.ContactPoint], Keyspace = "sor", RetryDelay = TimeSpan.FromMilliseconds(5) };
        configure?.Invoke(options);
        return new CassandraEventStore(Options.Create(options));
    }

    /// <summary>A first-release events table holding one event written the first release's way.</summary>
    private async Task<TimeUuid> CreateFirstReleaseTableAsync()
    {
        await using var cluster = new CqlCluster(new CqlClientSettings { ContactPoints = [_server.ContactPoint] }, NullLogger.Instance);
        await cluster.ExecuteAsync(new CqlStatement("CREATE KEYSPACE IF NOT EXISTS sor WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", [], CassandraConsistency.One, Prepare: false));
        await cluster.ExecuteAsync(new CqlStatement(FirstReleaseEvents, [], CassandraConsistency.One, Prepare: false));
        var id = TimeUuid.Create(new DateTimeOffset(Bucket.AddSeconds(1)));
        await cluster.ExecuteAsync(new CqlStatement(
            "INSERT INTO sor.events (time_bucket, event_id, ts, message, topic, key, headers) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [Bucket, id, Bucket.AddSeconds(1), "from the first release", "events", "k", new Dictionary<string, string> { ["h"] = "v" }],
            CassandraConsistency.One));
        return id;
    }

    private static async Task<List<RecordedEvent>> ReadAsync(CassandraEventStore store)
    {
        var list = new List<RecordedEvent>();
        await foreach (var e in store.ReadBucketAsync(Bucket))
        {
            list.Add(e);
        }

        return list;
    }

    [Test]
    public async Task EnsureCreatedAsync_TableOfTheFirstRelease_AddsTheNewColumnsOnceAndOldEventsStillRead()
    {
        var oldId = await CreateFirstReleaseTableAsync();
        await using var store = Store();

        await store.EnsureCreatedAsync(TimeSpan.FromSeconds(15));
        await using (var second = Store())
        {
            await second.EnsureCreatedAsync(TimeSpan.FromSeconds(15));
        }

        var typed = new RecordedEvent(Bucket, TimeUuid.Create(new DateTimeOffset(Bucket.AddSeconds(2))), "events", null, "new") { Type = "t.v1", Instance = "app-1", TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
        await store.AppendAsync(typed);
        var read = await ReadAsync(store);

        Assert.Multiple(() =>
        {
            Assert.That(_server.ReceivedCql.Where(c => c.StartsWith("ALTER TABLE sor.events ADD", StringComparison.Ordinal)),
                Is.EquivalentTo(CassandraStatements.AddedEventColumns.Select(c => $"ALTER TABLE sor.events ADD {c} text")), "each column added once, by the first store only");
            Assert.That(read.Select(e => e.EventId), Is.EqualTo(new[] { oldId, typed.EventId }));
            Assert.That(read[0].Message, Is.EqualTo("from the first release"));
            Assert.That(read[0].Headers["h"], Is.EqualTo("v"));
            Assert.That(new[] { read[0].Type, read[0].ContentType, read[0].Instance, read[0].TraceParent, read[0].TraceState }, Has.All.Null);
            Assert.That(read[1], Is.EqualTo(typed));
        });
    }

    [Test]
    public async Task EnsureCreatedAsync_TwoStoresUpgradeAtOnce_BothSucceed()
    {
        await CreateFirstReleaseTableAsync();
        await using var first = Store();
        await using var second = Store();

        await Task.WhenAll(first.EnsureCreatedAsync(TimeSpan.FromSeconds(15)).AsTask(), second.EnsureCreatedAsync(TimeSpan.FromSeconds(15)).AsTask());

        Assert.That(_server.Database.SchemaColumns("sor", "events").Count, Is.EqualTo(7 + CassandraStatements.AddedEventColumns.Count));
    }

    [Test]
    public async Task EnsureCreatedAsync_TableOfTheFirstReleaseAndCreateSchemaOff_RefusesNamingTheAlterStatements()
    {
        await CreateFirstReleaseTableAsync();
        await using (var creator = Store(o => o.Table = "other"))
        {
            await creator.EnsureCreatedAsync(TimeSpan.FromSeconds(15));
        }

        await using var store = Store(o => o.CreateSchema = false);

        // The metadata and checkpoint tables of 'events' do not exist either; create them as a DBA would.
        await using (var cluster = new CqlCluster(new CqlClientSettings { ContactPoints = [_server.ContactPoint] }, NullLogger.Instance))
        {
            foreach (var ddl in new CassandraStatements("sor", "events", 1).Schema(new Dictionary<string, string> { ["class"] = "SimpleStrategy", ["replication_factor"] = "1" }).Skip(2))
            {
                await cluster.ExecuteAsync(new CqlStatement(ddl, [], CassandraConsistency.One, Prepare: false));
            }
        }

        Assert.That(
            async () => await store.EnsureCreatedAsync(TimeSpan.FromSeconds(15)),
            Throws.InvalidOperationException.With.Message.Contains("ALTER TABLE sor.events ADD traceparent text").And.Message.Contains("CreateSchema"));
        Assert.That(_server.ReceivedCql, Has.None.StartsWith("ALTER"));
    }

    [Test]
    public async Task TryReplaceCheckpointAsync_EachForm_LightweightTransactionAtTheSerialConsistencyNotRetried()
    {
        await using var store = Store(o => o.SerialConsistency = CassandraConsistency.Serial);
        await store.EnsureCreatedAsync(TimeSpan.FromSeconds(15));

        Assert.That(await store.TryReplaceCheckpointAsync("lease", null, "a"), Is.True);
        Assert.That(await store.TryReplaceCheckpointAsync("lease", "a", "b"), Is.True);
        Assert.That(await store.TryReplaceCheckpointAsync("lease", "b", null), Is.True);
        _server.FailNext(0x1100, 1, "IF NOT EXISTS");

        Assert.Multiple(() =>
        {
            Assert.That(_server.SerialConsistencyOf, Contains.Key("INSERT INTO sor.events_checkpoints (name, value) VALUES (?, ?) IF NOT EXISTS").WithValue(CassandraConsistency.Serial));
            Assert.That(_server.SerialConsistencyOf, Contains.Key("UPDATE sor.events_checkpoints SET value = ? WHERE name = ? IF value = ?").WithValue(CassandraConsistency.Serial));
            Assert.That(_server.SerialConsistencyOf, Contains.Key("DELETE FROM sor.events_checkpoints WHERE name = ? IF value = ?").WithValue(CassandraConsistency.Serial));
            Assert.That(async () => await store.TryReplaceCheckpointAsync("lease", null, "c"), Throws.InstanceOf<CassandraWriteTimeoutException>(), "a timed-out transaction is not retried");
            Assert.That(_server.ExecutedCql.Count(c => c.EndsWith("IF NOT EXISTS", StringComparison.Ordinal) && c.Contains("checkpoints", StringComparison.Ordinal)), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task TryReplaceCheckpointAsync_NotAppliedAnswerCarriesTheCurrentRow_ReadsAppliedByName()
    {
        await using var store = Store();
        await store.EnsureCreatedAsync(TimeSpan.FromSeconds(15));
        await store.WriteCheckpointAsync("lease", "held");
        _server.RecordResponses = true;

        Assert.That(await store.TryReplaceCheckpointAsync("lease", null, "mine"), Is.False);
        Assert.That(await store.TryReplaceCheckpointAsync("lease", "other", "mine"), Is.False);

        // The answers had [applied] = false followed by the row's columns (name, value), and by value alone.
        var answers = _server.SentFrames.Select(f => System.Text.Encoding.UTF8.GetString(f)).ToList();
        Assert.That(answers, Has.Some.Contains("[applied]").And.Contains("held"));
    }
}
