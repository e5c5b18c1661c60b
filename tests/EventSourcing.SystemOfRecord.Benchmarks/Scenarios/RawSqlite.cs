using System.Diagnostics;
using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>Hand-written Microsoft.Data.Sqlite code: the raw limit the store is compared to.</summary>
internal static class RawSqlite
{
    /// <summary>Rows per transaction of the raw writers: the store's own largest group commit.</summary>
    public const int BatchSize = SqliteStoreOptions.DefaultMaxBatchSize;

    /// <summary>The store's version-2 layout: a rowid table, message last, a unique index on (bucket, sortable id).</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS events (
            seq          INTEGER PRIMARY KEY,
            time_bucket  INTEGER NOT NULL,
            event_id     BLOB    NOT NULL CHECK (length(event_id) = 16),
            ts           INTEGER NOT NULL,
            topic        TEXT    NOT NULL,
            key          TEXT,
            headers      TEXT,
            type         TEXT,
            content_type TEXT,
            instance     TEXT,
            trace_parent TEXT,
            trace_state  TEXT,
            message      TEXT    NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS events_by_bucket_and_id ON events (time_bucket, event_id);
        """;

    public static SqliteConnection Open(string file, string synchronous = "FULL")
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ConnectionString);
        connection.Open();
        Execute(connection, "PRAGMA journal_mode = WAL; PRAGMA synchronous = " + synchronous + ";");
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Bucket and id as the store lays them out (16 big-endian bytes that sort like the id).</summary>
    public static byte[] SortableKey(TimeUuid id)
    {
        Span<byte> canonical = stackalloc byte[16];
        id.TryWriteBytes(canonical);
        var msb = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(canonical);
        var lsb = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(canonical[8..]);
        var ticks = ((msb & 0x0FFF) << 48) | (((msb >> 16) & 0xFFFF) << 32) | (msb >> 32);
        var key = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(key, ticks);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(8), lsb ^ 0x8080_8080_8080_8080);
        return key;
    }

    public static long UnixTicks(DateTime utc) => utc.Ticks - DateTime.UnixEpoch.Ticks;

    /// <summary>
    /// <paramref name="count"/> events of the current bucket, built before the clock starts: ids, keys, messages and the
    /// instance name are what an append of ours stores.
    /// </summary>
    public static List<RecordedEvent> Events(int count, string topic)
    {
        var now = DateTime.UtcNow;
        var bucket = now.AddTicks(-(now.Ticks % Workload.Increment.Ticks));
        return Enumerable.Range(0, count)
            .Select(i => new RecordedEvent(bucket, TimeUuid.Create(), topic, Workload.Key(i), Workload.Message(i)) { Instance = Environment.MachineName })
            .ToList();
    }

    /// <summary>
    /// The best raw way to make rows durable: a thread of its own inserts them with one prepared statement, in
    /// transactions of <see cref="BatchSize"/> rows, and calls <paramref name="committed"/> with the range of rows each
    /// commit made durable. Completes when the last batch committed.
    /// </summary>
    public static Task InsertOnWriterThreadAsync(SqliteConnection connection, IReadOnlyList<RecordedEvent> events, Action<int, int>? committed = null, LatencyRecorder? latencies = null)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                InsertBatches(connection, events, committed, latencies);
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        })
        { IsBackground = true, Name = "raw SQLite writer" }.Start();
        return done.Task;
    }

    private static void InsertBatches(SqliteConnection connection, IReadOnlyList<RecordedEvent> events, Action<int, int>? committed, LatencyRecorder? latencies)
    {
        using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO events (time_bucket, event_id, ts, topic, key, headers, type, content_type, instance, trace_parent, trace_state, message)
            VALUES ($b, $id, $ts, $t, $k, NULL, NULL, NULL, $i, NULL, NULL, $m);
            """;
        var b = insert.Parameters.Add("$b", SqliteType.Integer);
        var id = insert.Parameters.Add("$id", SqliteType.Blob);
        var ts = insert.Parameters.Add("$ts", SqliteType.Integer);
        var t = insert.Parameters.Add("$t", SqliteType.Text);
        var k = insert.Parameters.Add("$k", SqliteType.Text);
        var instance = insert.Parameters.Add("$i", SqliteType.Text);
        var m = insert.Parameters.Add("$m", SqliteType.Text);
        for (var start = 0; start < events.Count; start += BatchSize)
        {
            var began = Stopwatch.GetTimestamp();
            var end = Math.Min(events.Count, start + BatchSize);
            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                insert.Transaction = transaction;
                for (var i = start; i < end; i++)
                {
                    var e = events[i];
                    b.Value = UnixTicks(e.TimeBucket);
                    id.Value = SortableKey(e.EventId);
                    ts.Value = UnixTicks(e.Timestamp);
                    t.Value = e.Topic;
                    k.Value = (object?)e.Key ?? DBNull.Value;
                    instance.Value = (object?)e.Instance ?? DBNull.Value;
                    m.Value = e.Message;
                    insert.ExecuteNonQuery();
                }

                transaction.Commit();
            }

            committed?.Invoke(start, end);
            if (latencies is not null)
            {
                // Every row of the batch waited for the batch's commit.
                var took = Stopwatch.GetTimestamp() - began;
                for (var i = start; i < end; i++)
                {
                    latencies.RecordTicks(took);
                }
            }
        }
    }
}
