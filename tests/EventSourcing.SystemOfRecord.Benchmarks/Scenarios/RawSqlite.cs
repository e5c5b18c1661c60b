using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>Hand-written Microsoft.Data.Sqlite code: the raw limit the store is compared to.</summary>
internal static class RawSqlite
{
    /// <summary>The same table the store writes (one row per event, clustered on bucket and sortable id).</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS events (
            time_bucket INTEGER NOT NULL,
            event_id    BLOB    NOT NULL,
            ts          INTEGER NOT NULL,
            message     TEXT    NOT NULL,
            topic       TEXT    NOT NULL,
            key         TEXT,
            headers     TEXT,
            PRIMARY KEY (time_bucket, event_id)
        ) WITHOUT ROWID;
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

    /// <summary>Inserts the events in transactions of <paramref name="batch"/> rows with one prepared statement.</summary>
    public static void InsertBatches(SqliteConnection connection, IReadOnlyList<RecordedEvent> events, int batch, LatencyRecorder? latencies)
    {
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO events (time_bucket, event_id, ts, message, topic, key, headers) VALUES ($b, $id, $ts, $m, $t, $k, NULL);";
        var b = insert.Parameters.Add("$b", SqliteType.Integer);
        var id = insert.Parameters.Add("$id", SqliteType.Blob);
        var ts = insert.Parameters.Add("$ts", SqliteType.Integer);
        var m = insert.Parameters.Add("$m", SqliteType.Text);
        var t = insert.Parameters.Add("$t", SqliteType.Text);
        var k = insert.Parameters.Add("$k", SqliteType.Text);
        for (var start = 0; start < events.Count; start += batch)
        {
            var began = System.Diagnostics.Stopwatch.GetTimestamp();
            var end = Math.Min(events.Count, start + batch);
            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                insert.Transaction = transaction;
                for (var i = start; i < end; i++)
                {
                    var e = events[i];
                    b.Value = UnixTicks(e.TimeBucket);
                    id.Value = SortableKey(e.EventId);
                    ts.Value = UnixTicks(e.Timestamp);
                    m.Value = e.Message;
                    t.Value = e.Topic;
                    k.Value = (object?)e.Key ?? DBNull.Value;
                    insert.ExecuteNonQuery();
                }

                transaction.Commit();
            }

            if (latencies is not null)
            {
                // Every row of the batch waited for the batch's commit.
                var took = System.Diagnostics.Stopwatch.GetTimestamp() - began;
                for (var i = start; i < end; i++)
                {
                    latencies.RecordTicks(took);
                }
            }
        }
    }
}
