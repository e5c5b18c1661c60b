using System.Runtime.CompilerServices;
using EventSourcing.SystemOfRecord.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite;

public sealed partial class SqliteEventStore
{
    /// <summary>The most rows one chunk of a read holds.</summary>
    internal const int DefaultReadChunkRows = 256;

    /// <summary>A chunk ends early once its messages reach this many characters (2 MB), so 1 MiB messages come a few at a time.</summary>
    private const long ReadChunkChars = 1 << 20;

    // Keyed on the last row read: ($after_bucket, $after_id) starts at ($from, x''), before every id of bucket $from.
    // The unique index on (time_bucket, event_id) serves both bounds and the order.
    private const string ReadChunkSql = """
        SELECT time_bucket, event_id, topic, key, headers, type, content_type, instance, trace_parent, trace_state, message
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
    /// order, one chunk at a time. No read transaction stays open between chunks, so however slowly the caller consumes
    /// the rows, SQLite can checkpoint and restart the WAL.
    /// </summary>
    private async IAsyncEnumerable<RecordedEvent> ReadAsync(long from, long toExclusive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var chunk = new List<RecordedEvent>();
        var after = new RowKey(from, []);
        while (true)
        {
            ThrowIfDisposed();
            var next = await ReadChunkAsync(after, toExclusive, chunk, cancellationToken).ConfigureAwait(false);
            foreach (var recorded in chunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return recorded;
            }

            if (next is null)
            {
                yield break;
            }

            after = next.Value;
        }
    }

    /// <summary>
    /// Reads the rows after <paramref name="after"/> into <paramref name="chunk"/>, in one short read transaction.
    /// Returns the key of the last row when more may follow, null when the range is exhausted.
    /// </summary>
    private async Task<RowKey?> ReadChunkAsync(RowKey after, long toExclusive, List<RecordedEvent> chunk, CancellationToken cancellationToken)
    {
        chunk.Clear();
        var limit = ReadChunkRows;
        try
        {
            var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var command = connection.CreateCommand();
                await using (command.ConfigureAwait(false))
                {
                    command.CommandText = ReadChunkSql;
                    command.Parameters.Add("$after_bucket", SqliteType.Integer).Value = after.Bucket;
                    command.Parameters.Add("$after_id", SqliteType.Blob).Value = after.EventId;
                    command.Parameters.Add("$to", SqliteType.Integer).Value = toExclusive;
                    command.Parameters.Add("$limit", SqliteType.Integer).Value = limit;

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
        return new RecordedEvent(
            UnixTicks.ToUtc(bucketTicks),
            SortableEventId.Decode(id),
            reader.GetString(2),
            NullableString(reader, 3),
            reader.GetString(10),
            HeadersJson.Decode(NullableString(reader, 4)))
        {
            Type = NullableString(reader, 5),
            ContentType = NullableString(reader, 6),
            Instance = NullableString(reader, 7),
            TraceParent = NullableString(reader, 8),
            TraceState = NullableString(reader, 9),
        };
    }

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>The (time_bucket, event_id) key of a row, as stored: a read goes on after it.</summary>
    private readonly record struct RowKey(long Bucket, byte[] EventId);
}
