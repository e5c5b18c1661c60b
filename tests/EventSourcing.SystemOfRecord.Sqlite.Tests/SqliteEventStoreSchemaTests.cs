using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

/// <summary>
/// Opening files written by earlier versions: Assets/events-v1.sqlite3 was written by the store at commit 2c12176
/// (schema version 1, the WITHOUT ROWID events table); Assets/README.md shows the program that wrote it.
/// </summary>
public sealed class SqliteEventStoreSchemaTests
{
    private const string VersionOneColumns = "time_bucket,event_id,ts,message,topic,key,headers";
    private static readonly DateTime Far = new(2100, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private TempDatabase _database = null!;

    [SetUp]
    public void SetUp()
    {
        _database = new TempDatabase();
        File.Copy(Path.Combine(TestContext.CurrentContext.TestDirectory, "Assets", "events-v1.sqlite3"), _database.FilePath);
    }

    [TearDown]
    public async Task TearDown() => await _database.DisposeAsync();

    [Test]
    public async Task EnsureCreatedAsync_VersionOneFile_MigratesAndReadsEveryEventInOrder()
    {
        Assert.That(Text("SELECT group_concat(name, ',') FROM pragma_table_info('events')"), Is.EqualTo(VersionOneColumns), "the asset is a version-1 file");
        var store = _database.CreateStore();

        await store.EnsureCreatedAsync(V1Events.Increment);
        var read = await store.ReadRangeAsync(DateTime.UnixEpoch, Far).ToListAsync();

        var expected = V1Events.All().OrderBy(e => e.TimeBucket).ThenBy(e => e.EventId).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(read, Is.EqualTo(expected), "every field of every event, in (bucket, id) order");
            Assert.That(read.Select(e => e.Timestamp), Is.EqualTo(expected.Select(e => e.Timestamp)));
            Assert.That(read.Select(e => e.Message.Length).Max(), Is.EqualTo(5009), "the overflowing message came through whole");
            Assert.That(read.Where(e => e.Type != null || e.ContentType != null || e.Instance != null || e.TraceParent != null || e.TraceState != null), Is.Empty);
            Assert.That(read.Select(e => e.TimeBucket).Distinct().Count(), Is.EqualTo(4));
            Assert.That(read.FindIndex(e => e.Message == "same time, 0x80"), Is.LessThan(read.FindIndex(e => e.Message == "same time, 0x7F")), "signed clock-sequence order");

            Assert.That(await store.GetBucketIncrementAsync(), Is.EqualTo(V1Events.Increment));
            Assert.That(await store.ReadCheckpointAsync("publish-watermark"), Is.EqualTo("2025-06-01T12:00:30.0000000Z"));
            Assert.That(await store.ReadCheckpointAsync("replay/a"), Is.EqualTo("v1 checkpoint"));
            Assert.That(Text("SELECT value FROM metadata WHERE name = 'schema_version'"), Is.EqualTo("2"));
            Assert.That(Text("SELECT group_concat(name, ',') FROM pragma_table_info('events')"), Does.StartWith("seq,time_bucket,event_id"));
            Assert.That(Text("SELECT group_concat(name, ',') FROM sqlite_master WHERE type = 'table' AND name LIKE 'events%'"), Is.EqualTo("events"));
            Assert.That(Text("PRAGMA integrity_check"), Is.EqualTo("ok"));
        });
    }

    [Test]
    public async Task AppendAsync_AfterMigration_NewEventsWithEveryFieldSitBesideTheOldOnes()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(V1Events.Increment);
        var old = V1Events.All();
        var bucket = old[0].TimeBucket;
        var appended = new RecordedEvent(bucket, TimeUuid.Create(new DateTimeOffset(bucket.AddSeconds(14))), "orders", "k", "{\"new\":true}")
        {
            Type = "orders.placed.v2",
            ContentType = "application/json",
            Instance = "orders-1",
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            TraceState = "rojo=00f067aa0ba902b7",
        };

        await store.AppendAsync(appended);
        await store.DisposeAsync();
        var reopened = _database.CreateStore();
        await reopened.EnsureCreatedAsync(V1Events.Increment);
        var read = await reopened.ReadBucketAsync(bucket).ToListAsync();

        var expected = old.Where(e => e.TimeBucket == bucket).Append(appended).OrderBy(e => e.EventId).ToList();
        Assert.That(read, Is.EqualTo(expected));
        Assert.That(read.Single(e => e.EventId == appended.EventId).Instance, Is.EqualTo("orders-1"));
        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.EqualTo(old.Count + 1));
    }

    [Test]
    public async Task EnsureCreatedAsync_StoresRacingOnAVersionOneFile_MigrateItOnce()
    {
        var stores = Enumerable.Range(0, 6).Select(_ => _database.CreateStore()).ToList();

        await Task.WhenAll(stores.Select(s => Task.Run(async () => await s.EnsureCreatedAsync(V1Events.Increment))));

        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.EqualTo(V1Events.All().Count));
        Assert.That(Text("SELECT value FROM metadata WHERE name = 'schema_version'"), Is.EqualTo("2"));
        foreach (var store in stores)
        {
            Assert.That(await store.ReadRangeAsync(DateTime.UnixEpoch, Far).ToListAsync(), Has.Count.EqualTo(V1Events.All().Count));
        }
    }

    [Test]
    public async Task EnsureCreatedAsync_SchemaVersionNewerThanKnown_RefusesAndLeavesTheFileAlone()
    {
        _database.Scalar("UPDATE metadata SET value = '3' WHERE name = 'schema_version'");
        var store = _database.CreateStore();

        var refused = Assert.ThrowsAsync<SqliteStoreException>(async () => await store.EnsureCreatedAsync(V1Events.Increment));
        var append = Assert.ThrowsAsync<SqliteStoreException>(async () => await store.AppendAsync(TestEvents.Create("never")));
        var read = Assert.ThrowsAsync<SqliteStoreException>(async () => await store.ReadRangeAsync(DateTime.UnixEpoch, Far).ToListAsync());

        Assert.Multiple(() =>
        {
            Assert.That(refused!.Message, Does.Contain("version '3'").And.Contain("versions 1 to 2").And.Contain("Upgrade the package"));
            Assert.That(refused.SqliteErrorCode, Is.Null);
            Assert.That(refused.IsTransient, Is.False);
            Assert.That(append!.Message, Does.Contain("version '3'"));
            Assert.That(read!.Message, Does.Contain("version '3'"));
            Assert.That(Text("SELECT value FROM metadata WHERE name = 'schema_version'"), Is.EqualTo("3"));
            Assert.That(Text("SELECT group_concat(name, ',') FROM pragma_table_info('events')"), Is.EqualTo(VersionOneColumns));
            Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.EqualTo(V1Events.All().Count));
        });
    }

    private string? Text(string sql)
    {
        using var connection = _database.OpenRawConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() as string;
    }

    /// <summary>The events in Assets/events-v1.sqlite3, by the formula of the program that wrote it (Assets/README.md).</summary>
    private static class V1Events
    {
        public static readonly DateTime Start = new(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc);

        public static readonly TimeSpan Increment = TimeSpan.FromSeconds(15);

        public static List<RecordedEvent> All()
        {
            var events = new List<RecordedEvent>();
            for (var i = 0; i < 24; i++)
            {
                var message = i switch
                {
                    7 => string.Empty,
                    11 => new string('x', 5000) + " overflow",
                    _ => $"{{\"n\":{i},\"text\":\"héllo 🎉\"}}",
                };
                events.Add(Event(Start.AddSeconds(i * 2).AddMilliseconds(250), (byte)(i * 53), message, i));
            }

            events.Add(Event(Start.AddSeconds(10).AddMilliseconds(250), 0x7F, "same time, 0x7F", 24));
            events.Add(Event(Start.AddSeconds(10).AddMilliseconds(250), 0x80, "same time, 0x80", 25));
            return events;
        }

        private static RecordedEvent Event(DateTime timestamp, byte clockHigh, string message, int i)
        {
            Span<byte> bytes = stackalloc byte[TimeUuid.Size];
            TimeUuid.Min(new DateTimeOffset(timestamp)).TryWriteBytes(bytes);
            bytes[8] = clockHigh;
            bytes[9] = (byte)i;
            for (var b = 10; b < 16; b++)
            {
                bytes[b] = (byte)(0x11 * (b - 9));
            }

            var sinceEpoch = timestamp.Ticks - DateTime.UnixEpoch.Ticks;
            var bucket = new DateTime(timestamp.Ticks - (sinceEpoch % Increment.Ticks), DateTimeKind.Utc);
            var headers = i % 3 == 0 ? new Dictionary<string, string> { ["tenant"] = $"t{i % 2}", ["ünï"] = "\"quoted\"" } : null;
            return new RecordedEvent(bucket, new TimeUuid(bytes), i % 2 == 0 ? "orders" : "payments", i % 5 == 0 ? null : $"customer-{i % 4}", message, headers);
        }
    }
}
