using System.Diagnostics.Metrics;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Storage;

public sealed class CassandraEventStoreTests
{
    private static readonly TimeSpan Increment = TimeSpan.FromSeconds(15);
    private static readonly DateTime Origin = new(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    private static CassandraEventStore Store(IEnumerable<string> contactPoints, Action<CassandraStoreOptions>? configure = null, ILogger<CassandraEventStore>? logger = null)
    {
        var options = new CassandraStoreOptions { ContactPoints = contactPoints.ToList(), Keyspace = "sor", RetryDelay = TimeSpan.FromMilliseconds(5) };
        configure?.Invoke(options);
        return new CassandraEventStore(Options.Create(options), logger: logger);
    }

    private static RecordedEvent Event(DateTime timestamp, string message)
    {
        var ticks = timestamp.Ticks - DateTime.UnixEpoch.Ticks;
        return new RecordedEvent(new DateTime(timestamp.Ticks - (ticks % Increment.Ticks), DateTimeKind.Utc), TimeUuid.Create(new DateTimeOffset(timestamp)), "events", null, message);
    }

    private static async Task<List<RecordedEvent>> ReadAllAsync(IAsyncEnumerable<RecordedEvent> events)
    {
        var list = new List<RecordedEvent>();
        await foreach (var e in events)
        {
            list.Add(e);
        }

        return list;
    }

    [TestCase("bad-name", "events")]
    [TestCase("sor; DROP KEYSPACE x", "events")]
    [TestCase("1starts_with_digit", "events")]
    [TestCase("sor", "events\" --")]
    [TestCase("sor", "a_table_name_longer_than_thirty_five_chars")]
    [TestCase("sor\n", "events")]
    [TestCase("sor", "events\n")]
    [TestCase("select", "events")]
    [TestCase("sor", "TABLE")]
    [TestCase("Keyspace", "events")]
    public async Task Constructor_InvalidIdentifier_ThrowsBeforeAnyCql(string keyspace, string table)
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();

        var ex = Assert.Throws<OptionsValidationException>(() => Store([server.ContactPoint], o =>
        {
            o.Keyspace = keyspace;
            o.Table = table;
        }));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Does.Contain("CQL identifier"));
            Assert.That(server.RequestCount("Options") + server.ReceivedCql.Count, Is.Zero, "nothing reached the server");
        });
    }

    [Test]
    public void Constructor_BadClusterSettings_OneMessageNamesEach()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Store(["127.0.0.1"], o =>
        {
            o.LocalDataCenter = " ";
            o.Compression = (CassandraCompression)7;
            o.SpeculativeExecutionDelay = TimeSpan.Zero;
            o.TopologyRefreshInterval = TimeSpan.FromSeconds(-1);
        }));

        Assert.That(ex!.Message, Does.Contain("LocalDataCenter").And.Contain("Compression").And.Contain("SpeculativeExecutionDelay").And.Contain("TopologyRefreshInterval"));
    }

    [Test]
    public void Constructor_SeveralBadSettings_OneMessageNamesEach()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Store(["127.0.0.1"], o =>
        {
            o.Port = 0;
            o.ContactPoints = ["node-1:9042", "node-2:not-a-port"];
            o.ShardCount = 0;
            o.UserName = "only-user";
            o.Replication = new Dictionary<string, string> { ["class"] = "SimpleStrategy', 'x': '1" };
        }));

        Assert.That(ex!.Message, Does.Contain("ContactPoints").And.Contain("Port").And.Contain("ShardCount").And.Contain("UserName").And.Contain("Replication"));
    }

    [Test]
    public async Task EnsureCreatedAsync_CreateSchema_CreatesKeyspaceWithReplicationAndFourTables()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint], o => o.Replication = new Dictionary<string, string> { ["class"] = "NetworkTopologyStrategy", ["dc1"] = "3" });

        await store.EnsureCreatedAsync(Increment);

        Assert.Multiple(() =>
        {
            Assert.That(server.ReceivedCql, Has.Some.EqualTo("CREATE KEYSPACE IF NOT EXISTS sor WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '3'}"));
            Assert.That(server.ReceivedCql.Where(c => c.StartsWith("CREATE TABLE", StringComparison.Ordinal)), Has.Exactly(4).Items);
            Assert.That(server.ReceivedCql, Has.Some.Contains("PRIMARY KEY ((time_bucket), event_id)) WITH CLUSTERING ORDER BY (event_id ASC)"));
        });
    }

    [Test]
    public async Task EnsureCreatedAsync_CreateSchemaOffAndNoTables_FailsWithInvalidQuery()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint], o => o.CreateSchema = false);

        Assert.That(async () => await store.EnsureCreatedAsync(Increment), Throws.InstanceOf<CassandraInvalidQueryException>().With.Message.Contains("sor"));
        Assert.That(server.ReceivedCql, Has.None.StartsWith("CREATE"));
    }

    [Test]
    public async Task EnsureCreatedAsync_OtherShardCount_RefusesNamingBoth()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using (var first = Store([server.ContactPoint], o => o.ShardCount = 4))
        {
            await first.EnsureCreatedAsync(Increment);
        }

        await using var second = Store([server.ContactPoint], o => o.ShardCount = 2);

        Assert.That(
            async () => await second.EnsureCreatedAsync(Increment),
            Throws.InvalidOperationException.With.Message.Contains("4 shards").And.Message.Contains("ShardCount = 2"));
    }

    [Test]
    public async Task AppendAsync_Sharded_SpreadsBucketOverShardsAndReadMergesInEventIdOrder()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint], o =>
        {
            o.ShardCount = 4;
            o.PageSize = 7;
        });
        await store.EnsureCreatedAsync(Increment);
        var random = new Random(3);
        var events = Enumerable.Range(0, 200).Select(i => Event(Origin.AddTicks(random.NextInt64(Increment.Ticks)), $"m{i}")).ToList();
        foreach (var e in events)
        {
            await store.AppendAsync(e);
        }

        var read = await ReadAllAsync(store.ReadBucketAsync(Origin));

        Assert.Multiple(() =>
        {
            Assert.That(server.Database.CountPartitions("sor", "events"), Is.EqualTo(4));
            Assert.That(read.Select(e => e.EventId), Is.EqualTo(events.Select(e => e.EventId).Order()));
        });
    }

    [Test]
    public async Task ReadRangeAsync_MostlyEmptyYear_OneIndexQueryPerDayAndOnlyNonEmptyBucketsRead()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint]);
        await store.EnsureCreatedAsync(Increment);
        await store.AppendAsync(Event(Origin.AddDays(10), "a"));
        await store.AppendAsync(Event(Origin.AddDays(200), "b"));
        var before = server.ReceivedCql.ToList();

        var read = await ReadAllAsync(store.ReadRangeAsync(Origin, Origin.AddDays(365)));

        var during = server.ReceivedCql.Skip(before.Count).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(read.Select(e => e.Message), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(during.Count(c => c.Contains("_bucket_index WHERE day", StringComparison.Ordinal)), Is.InRange(365, 367), "one index query per day (plus one PREPARE)");
            Assert.That(during.Count(c => c.Contains("FROM sor.events WHERE time_bucket", StringComparison.Ordinal)), Is.InRange(2, 3), "two bucket reads (plus one PREPARE)");
        });
    }

    [Test]
    public async Task ReadBucketAsync_PastLargeBucketThreshold_LogsWarningAndCountsMetricOnce()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        var logger = new ListLogger<CassandraEventStore>();
        await using var store = Store([server.ContactPoint], o =>
        {
            o.LargeBucketThreshold = 5;
            o.PageSize = 2;
        }, logger);
        await store.EnsureCreatedAsync(Increment);
        for (var i = 0; i < 8; i++)
        {
            await store.AppendAsync(Event(Origin.AddSeconds(i), $"m{i}"));
        }

        long measured = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "EventSourcing.SystemOfRecord" && instrument.Name == "sor.cassandra.large_buckets")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref measured, value));
        listener.Start();

        var read = await ReadAllAsync(store.ReadBucketAsync(Origin));

        Assert.Multiple(() =>
        {
            Assert.That(read, Has.Count.EqualTo(8));
            Assert.That(Interlocked.Read(ref measured), Is.EqualTo(1));
            Assert.That(logger.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message), Has.One.Contains("more than 5 events"));
        });
    }

    [Test]
    public async Task AppendAsync_TransientWriteErrors_RetriedAndStoredOnce()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint]);
        await store.EnsureCreatedAsync(Increment);
        server.FailNext(0x1100, 1, "INSERT INTO sor.events ");
        server.FailNext(0x1000, 1, "INSERT INTO sor.events ");
        server.FailNext(0x1001, 1, "INSERT INTO sor.events ");
        var appended = Event(Origin, "retried");

        await store.AppendAsync(appended);
        var read = await ReadAllAsync(store.ReadBucketAsync(Origin));

        Assert.That(read, Is.EqualTo(new[] { appended }));
    }

    [Test]
    public async Task AppendAsync_NonTransientError_SurfacedAtOnceAndNothingWritten()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint]);
        await store.EnsureCreatedAsync(Increment);
        await store.AppendAsync(Event(Origin.AddSeconds(-30), "warm up the prepared statements"));
        var executesBefore = server.RequestCount("Execute");
        server.FailNext(0x2100, 1, "INSERT INTO sor.events ");

        Assert.That(async () => await store.AppendAsync(Event(Origin, "refused")), Throws.InstanceOf<CassandraUnauthorizedException>());
        Assert.Multiple(async () =>
        {
            Assert.That(await ReadAllAsync(store.ReadBucketAsync(Origin)), Is.Empty);
            Assert.That(server.RequestCount("Execute") - executesBefore, Is.EqualTo(3), "index insert, one event insert, the read; no retry");
        });
    }

    [Test]
    public async Task ReadRangeAsync_NodeDownMidReplay_CompletesFromOtherNodes()
    {
        await using var nodes = await CqlTestCluster.StartAsync(3);
        await using var store = Store(nodes.ContactPoints, o => o.PageSize = 50);
        await store.EnsureCreatedAsync(Increment);
        var events = new List<RecordedEvent>();
        for (var bucket = 0; bucket < 3; bucket++)
        {
            for (var i = 0; i < 400; i++)
            {
                events.Add(Event(Origin + (Increment * bucket) + TimeSpan.FromMilliseconds(i * 10), $"b{bucket}-{i}"));
            }
        }

        await Parallel.ForEachAsync(events, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (e, ct) => await store.AppendAsync(e, ct));

        var read = new List<RecordedEvent>();
        int[] executes = [];
        var stopped = -1;
        await foreach (var e in store.ReadRangeAsync(Origin, Origin + (Increment * 3)))
        {
            read.Add(e);
            if (read.Count == 250)
            {
                executes = nodes.Nodes.Select(n => n.RequestCount("Execute")).ToArray();
            }

            if (read.Count == 300)
            {
                // The node that served the last page dies with the replay half done; another node drops its
                // connection in the middle of a later page request.
                stopped = Enumerable.Range(0, 3).MaxBy(i => nodes.Nodes[i].RequestCount("Execute") - executes[i]);
                await nodes.Nodes[stopped].StopAsync();
                nodes.Nodes[(stopped + 1) % 3].DropConnectionAfterRequests(1);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(read.Select(e => e.EventId), Is.EqualTo(events.OrderBy(e => e.TimeBucket).ThenBy(e => e.EventId).Select(e => e.EventId)));
            Assert.That(nodes.Nodes[stopped].RequestCount("Execute") - executes[stopped], Is.EqualTo(1), "the stopped node served the page before it went down");
        });
    }

    [Test]
    public async Task ReadCheckpointAsync_NeverWritten_ReturnsNull()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint]);
        await store.EnsureCreatedAsync(Increment);

        Assert.That(await store.ReadCheckpointAsync("replay:a"), Is.Null);
    }

    [Test]
    public async Task ReadCheckpointAsync_StoreNeverCreated_ReturnsNull()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint]);

        Assert.That(await store.ReadCheckpointAsync("replay:a"), Is.Null);
    }

    [Test]
    public async Task WriteCheckpointAsync_RapidWritesAndTwoNames_LastWriteWinsPerNameAcrossInstances()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint]);
        await store.EnsureCreatedAsync(Increment);
        for (var i = 0; i < 20; i++)
        {
            await store.WriteCheckpointAsync("replay:a", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        await store.WriteCheckpointAsync("replay:b", "x");
        await using var reopened = Store([server.ContactPoint]);

        Assert.Multiple(async () =>
        {
            Assert.That(await reopened.ReadCheckpointAsync("replay:a"), Is.EqualTo("19"));
            Assert.That(await reopened.ReadCheckpointAsync("replay:b"), Is.EqualTo("x"));
            Assert.That(await reopened.ReadCheckpointAsync("REPLAY:A"), Is.Null);
        });
    }

    [Test]
    public async Task WriteCheckpointAsync_ClockStandsStill_LaterWriteStillWins()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        var frozen = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Origin);
        await using var store = new CassandraEventStore(
            Options.Create(new CassandraStoreOptions { ContactPoints = [server.ContactPoint], Keyspace = "sor" }), frozen);
        await store.EnsureCreatedAsync(Increment);

        // With one timestamp for both writes, Cassandra would keep the larger value, "9".
        await store.WriteCheckpointAsync("replay:a", "9");
        await store.WriteCheckpointAsync("replay:a", "10");

        Assert.That(await store.ReadCheckpointAsync("replay:a"), Is.EqualTo("10"));
    }

    [Test]
    public async Task Checkpoints_BadArguments_ThrowBeforeAnyCql()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Store([server.ContactPoint]);

        Assert.Multiple(() =>
        {
            Assert.That(async () => await store.ReadCheckpointAsync(""), Throws.ArgumentException);
            Assert.That(async () => await store.WriteCheckpointAsync(null!, "v"), Throws.ArgumentNullException);
            Assert.That(async () => await store.WriteCheckpointAsync("n", null!), Throws.ArgumentNullException);
        });
        Assert.That(server.ReceivedCql, Is.Empty);
    }

    [Test]
    public async Task UseCassandra_Registered_SystemOfRecordAppendsThroughCassandra()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        var services = new ServiceCollection();
        services.AddSystemOfRecord(o => o.BucketIncrement = Increment).UseCassandra(o =>
        {
            o.ContactPoints = [server.ContactPoint];
            o.Keyspace = "di";
        });
        await using var provider = services.BuildServiceProvider();
        var sor = provider.GetRequiredService<SystemOfRecord>();

        var recorded = await sor.AppendAsync("{\"order\":1}", key: "o-1");
        var read = await ReadAllAsync(sor.ReadBucketAsync(recorded.TimeBucket));

        Assert.Multiple(() =>
        {
            Assert.That(provider.GetRequiredService<IEventStore>(), Is.SameAs(provider.GetRequiredService<CassandraEventStore>()));
            Assert.That(read, Is.EqualTo(new[] { recorded }));
            Assert.That(server.Database.CountRows("di", "events"), Is.EqualTo(1));
        });
    }

    [Test]
    public void UseCassandra_InvalidOptions_ValidationNamesTheSetting()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord().UseCassandra(o => o.Keyspace = "no-dashes");
        using var provider = services.BuildServiceProvider();

        Assert.That(
            () => provider.GetRequiredService<IOptions<CassandraStoreOptions>>().Value,
            Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("Keyspace"));
    }
}
