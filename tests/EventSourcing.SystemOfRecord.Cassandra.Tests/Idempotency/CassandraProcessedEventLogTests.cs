using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Idempotency;

public sealed class CassandraProcessedEventLogTests
{
    private const string Keyspace = "consumer";
    private const string Table = "orders_processed";
    private static readonly DateTimeOffset Origin = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);

    private CassandraStoreOptions Settings(Action<CassandraStoreOptions>? configure = null)
    {
        var options = new CassandraStoreOptions
        {
            ContactPoints = [_server.ContactPoint],
            Keyspace = Keyspace,
            Table = "orders",
            RetryDelay = TimeSpan.FromMilliseconds(5),
        };
        configure?.Invoke(options);
        return options;
    }

    private FakeTimeProvider _clock = null!;
    private CqlServerMock _server = null!;

    [SetUp]
    public async Task StartServerAsync()
    {
        // The test server expires TTL'd rows on the same fake clock the log computes its TTLs from.
        _clock = new FakeTimeProvider(Origin);
        _server = new CqlServerMock(new CqlTestDatabase { Clock = _clock });
        await _server.StartAsync();
    }

    [TearDown]
    public async Task StopServerAsync() => await _server.DisposeAsync();

    private int Inserts() => _server.ExecutedCql.Count(cql => cql.StartsWith("INSERT", StringComparison.Ordinal));

    [Test]
    public async Task MarkProcessedAsync_NewInstanceAfterNodeRestart_StillKnowsTheId()
    {
        var marked = TimeUuid.Create(Origin.AddMinutes(-1));
        var other = TimeUuid.Create(Origin.AddMinutes(-1));
        await using (var first = new CassandraProcessedEventLog(Settings(), Window, _clock))
        {
            await first.MarkProcessedAsync(marked);
        }

        await _server.RestartAsync(); // the node forgets its prepared statements too
        await using var restarted = new CassandraProcessedEventLog(Settings(), Window, _clock);

        Assert.Multiple(async () =>
        {
            Assert.That(await restarted.IsProcessedAsync(marked), Is.True);
            Assert.That(await restarted.IsProcessedAsync(other), Is.False);
        });
    }

    [Test]
    public async Task MarkProcessedAsync_Twice_OneRowStillProcessed()
    {
        await using var log = new CassandraProcessedEventLog(Settings(), Window, _clock);
        var id = TimeUuid.Create(Origin.AddMinutes(-1));

        await log.MarkProcessedAsync(id);
        _clock.Advance(TimeSpan.FromSeconds(30));
        await log.MarkProcessedAsync(id);

        Assert.Multiple(async () =>
        {
            Assert.That(await log.IsProcessedAsync(id), Is.True);
            Assert.That(_server.Database.CountRows(Keyspace, Table), Is.EqualTo(1));
            Assert.That(Inserts(), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task MarkProcessedAsync_TtlFromEventTime_EventNearWindowEndExpiresFirst()
    {
        await using var log = new CassandraProcessedEventLog(Settings(), Window, _clock);
        var nearEnd = TimeUuid.Create(Origin - Window + TimeSpan.FromMinutes(10)); // 600 s left in the window
        var recent = TimeUuid.Create(Origin.AddMinutes(-5));                      // 3300 s left

        // Marked in the opposite order of their expiry: arrival order must not matter.
        await log.MarkProcessedAsync(recent);
        await log.MarkProcessedAsync(nearEnd);

        _clock.Advance(TimeSpan.FromSeconds(599));
        var bothBefore = (await log.IsProcessedAsync(nearEnd), await log.IsProcessedAsync(recent));
        _clock.Advance(TimeSpan.FromSeconds(2));
        var afterNearEnd = (await log.IsProcessedAsync(nearEnd), await log.IsProcessedAsync(recent));
        _clock.Advance(TimeSpan.FromSeconds(3300 - 601 + 1));
        var afterRecent = await log.IsProcessedAsync(recent);

        Assert.Multiple(() =>
        {
            Assert.That(bothBefore, Is.EqualTo((true, true)), "both inside their windows at 599 s");
            Assert.That(afterNearEnd, Is.EqualTo((false, true)), "at 601 s only the event near the window's end has expired");
            Assert.That(afterRecent, Is.False, "the recent event expires when its own window ends");
        });
    }

    [Test]
    public async Task MarkProcessedAsync_EventAlreadyOlderThanWindow_NothingWritten()
    {
        await using var log = new CassandraProcessedEventLog(Settings(), Window, _clock);
        var old = TimeUuid.Create(Origin - Window - TimeSpan.FromSeconds(1));

        await log.MarkProcessedAsync(old);

        Assert.Multiple(async () =>
        {
            Assert.That(Inserts(), Is.Zero);
            Assert.That(await log.IsProcessedAsync(old), Is.False);
        });
    }

    [Test]
    public async Task MarkProcessedAsync_EventFarInTheFuture_TtlCappedAtCassandrasMaximum()
    {
        // The test server refuses a TTL above 20 years, as Cassandra does.
        await using var log = new CassandraProcessedEventLog(Settings(), Window, _clock);
        var future = TimeUuid.Create(Origin.AddYears(25));

        await log.MarkProcessedAsync(future);

        Assert.That(await log.IsProcessedAsync(future), Is.True);
    }

    [TestCase(0.0, 0)]
    [TestCase(-5.0, 0)]
    [TestCase(0.3, 1)]
    [TestCase(1.0, 1)]
    [TestCase(600.0, 600)]
    [TestCase(600.0001, 601)]
    public async Task TtlSeconds_TimeLeftInWindow_RoundedUpToWholeSeconds(double secondsLeft, int expected)
    {
        await using var log = new CassandraProcessedEventLog(new CassandraStoreOptions(), Window, _clock);

        Assert.That(log.TtlSeconds(Origin - Window + TimeSpan.FromSeconds(secondsLeft)), Is.EqualTo(expected));
    }

    [Test]
    public async Task MarkProcessedAsync_TransientWriteTimeout_RetriedAndMarked()
    {
        await using var log = new CassandraProcessedEventLog(Settings(), Window);
        var id = TimeUuid.Create();
        _server.FailNext(0x1100, count: 2, cqlContains: "INSERT");

        await log.MarkProcessedAsync(id);

        Assert.Multiple(async () =>
        {
            Assert.That(Inserts(), Is.EqualTo(3));
            Assert.That(await log.IsProcessedAsync(id), Is.True);
        });
    }

    [Test]
    public async Task PruneAsync_TtlDoesThePruning_ReturnsZeroAndSendsNothing()
    {
        await using var log = new CassandraProcessedEventLog(Settings(), Window, _clock);
        var id = TimeUuid.Create(Origin.AddMinutes(-1));
        await log.MarkProcessedAsync(id);
        var sent = _server.ReceivedCql.Count;

        var pruned = await log.PruneAsync(Origin.AddDays(1));

        Assert.Multiple(async () =>
        {
            Assert.That(pruned, Is.Zero);
            Assert.That(_server.ReceivedCql, Has.Count.EqualTo(sent));
            Assert.That(await log.IsProcessedAsync(id), Is.True, "entries leave by their TTL, not by PruneAsync");
        });
    }

    [Test]
    public async Task FirstCall_CreateSchema_CreatesKeyspaceAndTableOnceAndUsesTheConsistency()
    {
        await using var log = new CassandraProcessedEventLog(Settings(o => o.Consistency = CassandraConsistency.One), Window, _clock);
        var id = TimeUuid.Create(Origin);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ => await log.IsProcessedAsync(id)));
        await log.MarkProcessedAsync(id);

        var creates = _server.ReceivedCql.Where(cql => cql.StartsWith("CREATE", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(creates, Has.Count.EqualTo(2));
            Assert.That(creates[0], Does.StartWith("CREATE KEYSPACE IF NOT EXISTS consumer WITH replication = {'class': 'SimpleStrategy'"));
            Assert.That(creates[1], Is.EqualTo("CREATE TABLE IF NOT EXISTS consumer.orders_processed (event_id timeuuid PRIMARY KEY)"));
            Assert.That(_server.ConsistencyOf["INSERT INTO consumer.orders_processed (event_id) VALUES (?) USING TTL ?"], Is.EqualTo(CassandraConsistency.One));
            Assert.That(_server.ConsistencyOf["SELECT event_id FROM consumer.orders_processed WHERE event_id = ?"], Is.EqualTo(CassandraConsistency.One));
        });
    }

    [Test]
    public async Task FirstCall_DefaultConsistency_IsLocalQuorum()
    {
        await using var log = new CassandraProcessedEventLog(Settings(), Window, _clock);

        await log.MarkProcessedAsync(TimeUuid.Create(Origin));

        Assert.That(_server.ConsistencyOf["INSERT INTO consumer.orders_processed (event_id) VALUES (?) USING TTL ?"], Is.EqualTo(CassandraConsistency.LocalQuorum));
    }

    [Test]
    public async Task FirstCall_CreateSchemaOff_SendsNoDdlAndAMissingTableSurfaces()
    {
        await using var log = new CassandraProcessedEventLog(Settings(o => o.CreateSchema = false), Window, _clock);

        Assert.That(async () => await log.IsProcessedAsync(TimeUuid.Create(Origin)), Throws.InstanceOf<CassandraInvalidQueryException>());
        Assert.That(_server.ReceivedCql.Where(cql => cql.StartsWith("CREATE", StringComparison.Ordinal)), Is.Empty);
    }

    [TestCase("bad-name", "orders")]
    [TestCase("consumer", "orders; DROP TABLE x")]
    [TestCase("consumer", "a_table_name_longer_than_thirty_five_chars")]
    public async Task Constructor_InvalidIdentifier_ThrowsBeforeAnyCql(string keyspace, string table)
    {

        var ex = Assert.Throws<OptionsValidationException>(() => new CassandraProcessedEventLog(Settings(o =>
        {
            o.Keyspace = keyspace;
            o.Table = table;
        }), Window));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Does.Contain("CQL identifier"));
            Assert.That(_server.RequestCount("Options") + _server.ReceivedCql.Count, Is.Zero);
        });
    }

    [TestCase(0.0)]
    [TestCase(-1.0)]
    [TestCase(24.0 * 366 * 21)]
    public void Constructor_WindowNotPositiveOrBeyondTwentyYears_Throws(double hours)
    {
        Assert.That(() => new CassandraProcessedEventLog(new CassandraStoreOptions(), TimeSpan.FromHours(hours)), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public async Task IdempotentEventHandler_AcrossARestart_AppliesEachEventOnce()
    {
        var options = new IdempotencyOptions { RetentionWindow = Window };
        var applied = new List<TimeUuid>();
        var events = Enumerable.Range(0, 20)
            .Select(i => new RecordedEvent(Origin.UtcDateTime, TimeUuid.Create(Origin.AddMinutes(-50 + i)), "orders", null, $"m{i}"))
            .ToList();
        ValueTask Apply(RecordedEvent e, CancellationToken cancellationToken)
        {
            applied.Add(e.EventId);
            return ValueTask.CompletedTask;
        }

        IdempotentEventHandler before;
        await using (var log = new CassandraProcessedEventLog(Settings(), Window, _clock))
        {
            before = new IdempotentEventHandler(Apply, log, options, _clock);
            foreach (var e in events.Take(12))
            {
                await before.HandleAsync(e, CancellationToken.None);
            }
        }

        // The consumer and the node restart; the broker redelivers everything.
        await _server.RestartAsync();
        _clock.Advance(TimeSpan.FromMinutes(5));
        await using var restartedLog = new CassandraProcessedEventLog(Settings(), Window, _clock);
        var after = new IdempotentEventHandler(Apply, restartedLog, options, _clock);
        foreach (var e in events)
        {
            await after.HandleAsync(e, CancellationToken.None);
        }

        Assert.Multiple(() =>
        {
            Assert.That(applied, Is.EqualTo(events.Select(e => e.EventId)));
            Assert.That(before.HandledCount, Is.EqualTo(12));
            Assert.That(after.HandledCount, Is.EqualTo(8));
            Assert.That(after.DuplicateCount, Is.EqualTo(12));
        });
    }
}

public sealed class CassandraProcessedEventLogServiceCollectionExtensionsTests
{
    [Test]
    public async Task AddCassandraProcessedEventLog_ResolvesOneLogThatRemembersIdsOnTheServer()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        var services = new ServiceCollection();
        services.AddCassandraProcessedEventLog(o =>
        {
            o.ContactPoints = [server.ContactPoint];
            o.Keyspace = "downstream";
        });
        await using var provider = services.BuildServiceProvider();

        var log = provider.GetRequiredService<IProcessedEventLog>();
        var id = TimeUuid.Create();
        await log.MarkProcessedAsync(id);

        Assert.Multiple(async () =>
        {
            Assert.That(log, Is.SameAs(provider.GetRequiredService<CassandraProcessedEventLog>()));
            Assert.That(((CassandraProcessedEventLog)log).RetentionWindow, Is.EqualTo(TimeSpan.FromDays(30)));
            Assert.That(await log.IsProcessedAsync(id), Is.True);
            Assert.That(server.ExecutedCql, Has.Some.Contains("downstream.events_processed"));
        });
    }

    [Test]
    public void AddCassandraProcessedEventLog_InvalidOptions_StartupValidationNamesTheSetting()
    {
        var services = new ServiceCollection();
        services.AddCassandraProcessedEventLog(o => o.Keyspace = "no-dashes");
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(
            () => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.That(failure!.Message, Does.Contain("Keyspace"));
    }

    [Test]
    public void AddCassandraProcessedEventLog_WindowOverTwentyYears_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new ServiceCollection().AddCassandraProcessedEventLog(_ => { }, TimeSpan.FromDays(365 * 21)));
    }
}
