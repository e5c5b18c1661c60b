using System.Globalization;
using EventSourcing.SystemOfRecord.Sqlite.Internal;
using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

/// <summary>Bytes the file spends per event: the version-2 layout keeps them near the message size.</summary>
public sealed class SqliteEventStoreStorageTests
{
    // The version-1 events table, for comparison: a WITHOUT ROWID table spills every row over ~1 KB into an overflow page.
    private const string VersionOneEventsSql = """
        CREATE TABLE events (
            time_bucket INTEGER NOT NULL, event_id BLOB NOT NULL, ts INTEGER NOT NULL, message TEXT NOT NULL,
            topic TEXT NOT NULL, key TEXT, headers TEXT, PRIMARY KEY (time_bucket, event_id)
        ) WITHOUT ROWID;
        """;

    private TempDatabase _database = null!;

    [SetUp]
    public void SetUp() => _database = new TempDatabase();

    [TearDown]
    public async Task TearDown() => await _database.DisposeAsync();

    /// <summary>Storage bounds that a layout change must keep (SQLite's page accounting is deterministic).</summary>
    [TestCase(100, 2_000, 260)]       // ~110 bytes of id, bucket, times, topic, key, rowid and index entry
    [TestCase(1024, 2_000, 1_500)]    // three rows per 4 KB leaf page (version 1: 4 682)
    [TestCase(65_536, 40, 67_000)]    // whole overflow pages
    public async Task AppendAsync_MessagesOfOneSize_TakeBytesPerEventNearTheMessage(int messageBytes, int events, int bound)
    {
        var perEvent = await MeasureStoreAsync(messageBytes, events);

        Assert.That(perEvent, Is.LessThan(bound));
    }

    /// <summary>
    /// A measurement, not a test: bytes per event of the version-1 and version-2 layouts for messages from 100 B to 1 MiB.
    /// Run with <c>dotnet test tests/EventSourcing.SystemOfRecord.Sqlite.Tests --filter "FullyQualifiedName~PrintsBytesPerEvent" --logger "console;verbosity=detailed"</c>.
    /// </summary>
    [Test]
    [Explicit("A measurement; prints numbers.")]
    public async Task Layouts_MessagesFrom100BytesTo1MiB_PrintsBytesPerEvent()
    {
        TestContext.Out.WriteLine("message bytes | events | version 1 (WITHOUT ROWID) | version 2 (rowid + index)");
        foreach (var size in new[] { 100, 900, 1024, 2048, 3000, 4096, 65_536, 1 << 20 })
        {
            var events = (int)Math.Clamp(32_000_000L / size, 32, 20_000);
            var old = MeasureVersionOne(size, events);
            var current = await MeasureStoreAsync(size, events);
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{size,13} | {events,6} | {old,12:F0} B ({old / size,5:F2}x) | {current,12:F0} B ({current / size,5:F2}x)"));
            Assert.That(current, Is.GreaterThan(size));
        }
    }

    /// <summary>Appends <paramref name="events"/> messages of <paramref name="messageBytes"/> ASCII bytes through the store to a new file.</summary>
    private async Task<double> MeasureStoreAsync(int messageBytes, int events)
    {
        var file = Path.Combine(_database.Folder, $"v2-{messageBytes}.db");
        await using var store = new SqliteEventStore(new SqliteStoreOptions { ConnectionString = $"Data Source={file}", Synchronous = SqliteSynchronousMode.Off });
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var empty = UsedBytes(file);
        var message = new string('x', messageBytes);
        for (var done = 0; done < events; done += 64)
        {
            await Task.WhenAll(Enumerable.Range(done, Math.Min(64, events - done))
                .Select(i => store.AppendAsync(TestEvents.Create(message, key: $"customer-{i % 64}")).AsTask()));
        }

        return (double)(UsedBytes(file) - empty) / events;
    }

    /// <summary>The same rows, inserted in transactions of 64 into the version-1 table.</summary>
    private double MeasureVersionOne(int messageBytes, int events)
    {
        var file = Path.Combine(_database.Folder, $"v1-{messageBytes}.db");
        using var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        Execute(connection, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;" + VersionOneEventsSql);
        var empty = UsedBytes(file);
        var message = new string('x', messageBytes);
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO events (time_bucket, event_id, ts, message, topic, key, headers) VALUES ($b, $id, $ts, $m, 'events', $k, NULL)";
        for (var done = 0; done < events; done += 64)
        {
            using var transaction = connection.BeginTransaction();
            insert.Transaction = transaction;
            for (var i = done; i < Math.Min(done + 64, events); i++)
            {
                var e = TestEvents.Create(message);
                insert.Parameters.Clear();
                insert.Parameters.AddWithValue("$b", UnixTicks.FromUtc(e.TimeBucket));
                insert.Parameters.AddWithValue("$id", SortableEventId.Encode(e.EventId));
                insert.Parameters.AddWithValue("$ts", UnixTicks.FromUtc(e.Timestamp));
                insert.Parameters.AddWithValue("$m", message);
                insert.Parameters.AddWithValue("$k", $"customer-{i % 64}");
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        return (double)(UsedBytes(file) - empty) / events;
    }

    /// <summary>Pages in use (the WAL's included) times the page size: what the file holds once checkpointed, free pages aside.</summary>
    private static long UsedBytes(string file)
    {
        using var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        long Pragma(string name)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA {name};";
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        return (Pragma("page_count") - Pragma("freelist_count")) * Pragma("page_size");
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
