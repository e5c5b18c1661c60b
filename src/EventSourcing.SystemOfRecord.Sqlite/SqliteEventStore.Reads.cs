using System.Runtime.CompilerServices;
using EventSourcing.SystemOfRecord.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite;

public sealed partial class SqliteEventStore
{
    /// <summary>The most rows one chunk of a read holds.</summary>
    internal const int DefaultReadChunkRows = 512;

    /// <summary>A chunk ends early once its messages reach this many characters (2 MB), so 1 MiB messages come a few at a time.</summary>
    private const long ReadChunkChars = 1 << 20;

    // Keyed on the last row read: ($after_bucket, $after_id) starts at ($from, x''), before every id of bucket $from.
    // The unique index on (time_bucket, event_id) serves both bounds and the order. "present" has a bit per nullable
    // column that holds a value: one column read instead of seven null checks, each a call into SQLite (together
    // about a third of the read's CPU time per row).
    private const string ReadChunkSql = """
        SELECT time_bucket, event_id, topic, message,
               (key IS NOT NULL) + 2 * (headers IS NOT NULL) + 4 * (type IS NOT NULL) + 8 * (content_type IS NOT NULL)
               + 16 * (instance IS NOT NULL) + 32 * (trace_parent IS NOT NULL) + 64 * (trace_state IS NOT NULL) AS present,
               key, headers, type, content_type, instance, trace_parent, trace_state
        FROM events
        WHERE (time_bucket, event_id) > ($after_bucket, $after_id) AND time_bucket < $to
        ORDER BY time_bucket, event_id
        LIMIT $limit;
        """;

    private long _chunksRead;

    /// <summary>For tests: the most rows one chunk of a read holds.</summary>
    internal int ReadChunkRows { get; set; } = DefaultReadChunkRows;

    /// <summary>Chunks read so far by every read of this store (for tests).</summary>
    internal long ChunksRead => Interlocked.Read(ref _chunksRead);

    /// <summary>
    /// Streams the rows with <paramref name="from"/> &lt;= time_bucket &lt; <paramref name="toExclusive"/> in (bucket, id)
    /// order, one chunk at a time, on a read session (a connection with the query prepared) kept for the whole read.
    /// No read transaction stays open between chunks, so however slowly the caller consumes the rows, SQLite can
    /// checkpoint and restart the WAL.
    /// </summary>
    private async IAsyncEnumerable<RecordedEvent> ReadAsync(long from, long toExclusive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var session = await GuardAsync("Reading events", () => _readSessions.RentAsync(cancellationToken).AsTask()).ConfigureAwait(false);
        var failed = false;
        try
        {
            session.Command.Parameters[2].Value = toExclusive;
            var chunk = new List<RecordedEvent>();
            RowKey? after = new RowKey(from, []);
            while (after is { } key)
            {
                ThrowIfDisposed();
                failed = true;
                after = await ReadChunkAsync(session.Command, key, chunk, cancellationToken).ConfigureAwait(false);
                failed = false;
                foreach (var recorded in chunk)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return recorded;
                }
            }
        }
        finally
        {
            // Between chunks the statement is reset, so a read that ends early leaves a session fit for the next read;
            // one whose chunk failed is closed.
            _readSessions.Return(session, healthy: !failed);
        }
    }

    /// <summary>Opens a read session: a pooled connection with the chunk query prepared on it.</summary>
    private async ValueTask<ReadSession> OpenReadSessionAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.CreateCommand();
        command.CommandText = ReadChunkSql;
        command.Parameters.Add("$after_bucket", SqliteType.Integer);
        command.Parameters.Add("$after_id", SqliteType.Blob);
        command.Parameters.Add("$to", SqliteType.Integer);
        command.Parameters.Add("$limit", SqliteType.Integer);
        command.Prepare();
        return new ReadSession(connection, command);
    }

    /// <summary>
    /// Reads the rows after <paramref name="after"/> into <paramref name="chunk"/>, in one short read transaction.
    /// Returns the key of the last row when more may follow, null when the range is exhausted.
    /// </summary>
    private async Task<RowKey?> ReadChunkAsync(SqliteCommand command, RowKey after, List<RecordedEvent> chunk, CancellationToken cancellationToken)
    {
        chunk.Clear();
        var limit = ReadChunkRows;
        command.Parameters[0].Value = after.Bucket;
        command.Parameters[1].Value = after.EventId;
        command.Parameters[3].Value = limit;
        try
        {
            // Disposing the reader resets the statement, which ends the read transaction.
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                long chars = 0;
                RowKey last = default;
                while (chars < ReadChunkChars && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var recorded = ReadEvent(reader, out last);
                    chars += recorded.Message.Length;
                    chunk.Add(recorded);
                }

                Interlocked.Increment(ref _chunksRead);
                var full = chunk.Count == limit || chars >= ReadChunkChars;
                return full ? last : null;
            }
        }
        catch (SqliteException ex)
        {
            throw SqliteStoreException.From(ex, "Reading events", _dataSource);
        }
        catch (FormatException ex)
        {
            throw new SqliteStoreException($"The SQLite database '{_dataSource}' holds an events row this store cannot read: {ex.Message}", ex);
        }
    }

    private static RecordedEvent ReadEvent(SqliteDataReader reader, out RowKey key)
    {
        var bucketTicks = reader.GetInt64(0);

        // GetFieldValue<byte[]> copies the 16 bytes; GetBytes would go through a blob stream on Microsoft.Data.Sqlite 10
        // (about 2.6 KB allocated and ten times slower per row).
        var id = reader.GetFieldValue<byte[]>(1);
        key = new RowKey(bucketTicks, id);
        var present = reader.GetInt32(4);
        return new RecordedEvent(
            UnixTicks.ToUtc(bucketTicks),
            SortableEventId.Decode(id),
            reader.GetString(2),
            Optional(reader, present, 0),
            reader.GetString(3),
            HeadersJson.Decode(Optional(reader, present, 1)))
        {
            Type = Optional(reader, present, 2),
            ContentType = Optional(reader, present, 3),
            Instance = Optional(reader, present, 4),
            TraceParent = Optional(reader, present, 5),
            TraceState = Optional(reader, present, 6),
        };
    }

    /// <summary>Nullable column <paramref name="index"/> (key, headers, type, ...), read only when its bit in "present" says it holds a value.</summary>
    private static string? Optional(SqliteDataReader reader, int present, int index) =>
        (present & (1 << index)) != 0 ? reader.GetString(5 + index) : null;

    /// <summary>The (time_bucket, event_id) key of a row, as stored: a read goes on after it.</summary>
    private readonly record struct RowKey(long Bucket, byte[] EventId);
}
