using System.Diagnostics;
using System.Globalization;
using EventSourcing.SystemOfRecord.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite;

public sealed partial class SqliteEventStore
{
    /// <summary>The schema version this store writes and reads; files of version 1 are migrated on open.</summary>
    internal const int SchemaVersion = 2;

    private const string SchemaVersionKey = "schema_version";
    private const string BucketIncrementKey = "bucket_increment";

    private const string CreateMetadataSql = """
        CREATE TABLE IF NOT EXISTS metadata (
            name  TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS checkpoints (
            name  TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        """;

    // A rowid table, so that a row up to a page (4 KB) stays in its leaf and a bigger one fills whole overflow pages
    // (version 1's WITHOUT ROWID table spilled every row over ~1 KB into an overflow page of its own: 4.7 KB per
    // 1 KB message). The (time_bucket, event_id) order lives in a unique index; message is last, so the other columns
    // are read without walking its overflow pages.
    // time_bucket and ts: 100 ns units since the Unix epoch (UTC). event_id: the 16-byte sortable layout of
    // SortableEventId, so the index orders rows as TimeUuid.CompareTo does. headers: a JSON object, or NULL.
    private const string EventsTableSql = """
        (
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
        """;

    private const string CreateEventsSql = "CREATE TABLE events " + EventsTableSql + CreateEventsIndexSql;

    private const string CreateEventsIndexSql = "CREATE UNIQUE INDEX events_by_bucket_and_id ON events (time_bucket, event_id);";

    // Version 1 -> 2: copy into the new layout in key order, drop the old table, rename. One transaction: a crash
    // leaves version 1 whole. Triggers on the old table go with it; views that name "events" see the new table.
    private const string MigrateFromVersion1Sql =
        "CREATE TABLE events_v2 " + EventsTableSql + """
        INSERT INTO events_v2 (time_bucket, event_id, ts, topic, key, headers, message)
            SELECT time_bucket, event_id, ts, topic, key, headers, message FROM events ORDER BY time_bucket, event_id;
        DROP TABLE events;
        ALTER TABLE events_v2 RENAME TO events;
        """ + CreateEventsIndexSql;

    /// <summary>Creates or migrates the schema once per store instance (and tries again after a failure).</summary>
    private Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        var schema = _schema;
        if (schema is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        lock (_schemaGate)
        {
            if (_schema is null || _schema.IsFaulted || _schema.IsCanceled)
            {
                _schema = Task.Run(CreateSchemaAsync, CancellationToken.None);
            }

            return _schema.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Switches the file to WAL, then creates, migrates or checks the schema inside <c>BEGIN IMMEDIATE</c>, so that
    /// stores in several processes racing on one file take turns: the first creates or migrates, the others find it done.
    /// </summary>
    /// <exception cref="SqliteStoreException">SQLite failed, the file is not in WAL mode, or its schema is newer than this store knows.</exception>
    private async Task CreateSchemaAsync()
    {
        try
        {
            var connection = await OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                // The journal mode is stored in the file; it can only change outside a transaction.
                var journalMode = Convert.ToString(await ScalarAsync(connection, "PRAGMA journal_mode = WAL;").ConfigureAwait(false), CultureInfo.InvariantCulture);
                if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase))
                {
                    throw new SqliteStoreException(
                        $"The SQLite database '{_dataSource}' could not be switched to WAL journal mode (it is in '{journalMode}' mode); the event store needs WAL.");
                }

                var watch = Stopwatch.StartNew();
                var (found, rows) = await WriteTransaction.RunAsync(connection, () => CreateOrMigrateAsync(connection)).ConfigureAwait(false);
                if (found == 0)
                {
                    Log.SchemaCreated(_logger, _dataSource, SchemaVersion);
                }
                else if (found < SchemaVersion)
                {
                    Log.SchemaMigrated(_logger, _dataSource, found, SchemaVersion, rows, watch.Elapsed);

                    // The copy went through the WAL; give its space back now rather than keep a WAL the size of the table.
                    await TryTruncateWalAsync(connection).ConfigureAwait(false);
                }
            }
        }
        catch (SqliteException ex)
        {
            throw SqliteStoreException.From(ex, "Opening the event store", _dataSource);
        }

        Log.Opened(_logger, _dataSource, _options.Synchronous, _options.MaxBatchSize);
    }

    /// <summary>
    /// Inside the write transaction: creates the schema, migrates version 1, or checks the version. Returns the version
    /// found (0: none) and the rows migrated.
    /// </summary>
    private async Task<(int Found, long Rows)> CreateOrMigrateAsync(SqliteConnection connection)
    {
        await ExecuteAsync(connection, CreateMetadataSql).ConfigureAwait(false);
        var stored = await ScalarAsync(connection, "SELECT value FROM metadata WHERE name = $name;", ("$name", SchemaVersionKey)).ConfigureAwait(false);
        var found = 0;
        if (stored is not null
            && (!int.TryParse(Convert.ToString(stored, CultureInfo.InvariantCulture), NumberStyles.None, CultureInfo.InvariantCulture, out found)
                || found is < 1 or > SchemaVersion))
        {
            throw new SqliteStoreException(
                $"The SQLite database '{_dataSource}' has events schema version '{stored}'; this version of EventSourcing.SystemOfRecord.Sqlite "
                + $"reads versions 1 to {SchemaVersion}. Upgrade the package.");
        }

        long rows = 0;
        switch (found)
        {
            case 0:
                await ExecuteAsync(connection, CreateEventsSql).ConfigureAwait(false);
                break;
            case 1:
                await ExecuteAsync(connection, MigrateFromVersion1Sql).ConfigureAwait(false);
                rows = Convert.ToInt64(await ScalarAsync(connection, "SELECT count(*) FROM events;").ConfigureAwait(false), CultureInfo.InvariantCulture);
                break;
            default:
                return (found, 0);
        }

        await ExecuteAsync(
            connection,
            "INSERT OR REPLACE INTO metadata (name, value) VALUES ($name, $value);",
            ("$name", SchemaVersionKey),
            ("$value", SchemaVersion.ToString(CultureInfo.InvariantCulture))).ConfigureAwait(false);
        return (found, rows);
    }

    private async Task TryTruncateWalAsync(SqliteConnection connection)
    {
        try
        {
            await ScalarAsync(connection, "PRAGMA wal_checkpoint(TRUNCATE);").ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            // Only a size optimisation: readers in other processes may hold the WAL; the next checkpoints reuse it.
            Log.WalTruncateFailed(_logger, ex, _dataSource);
        }
    }

    /// <summary>Records the increment unless one is recorded already; returns the recorded one.</summary>
    private async Task<TimeSpan> RecordBucketIncrementAsync(TimeSpan increment, CancellationToken cancellationToken)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await WriteTransaction.RunAsync(connection, async () =>
            {
                await ExecuteAsync(
                    connection,
                    "INSERT OR IGNORE INTO metadata (name, value) VALUES ($name, $value);",
                    ("$name", BucketIncrementKey),
                    ("$value", increment.ToString("c", CultureInfo.InvariantCulture))).ConfigureAwait(false);
                return ParseIncrement(await ScalarAsync(connection, "SELECT value FROM metadata WHERE name = $name;", ("$name", BucketIncrementKey)).ConfigureAwait(false)) ?? increment;
            }).ConfigureAwait(false);
        }
    }

    private async Task<TimeSpan?> ReadBucketIncrementAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return ParseIncrement(await ScalarAsync(connection, "SELECT value FROM metadata WHERE name = $name;", ("$name", BucketIncrementKey)).ConfigureAwait(false));
        }
    }

    private TimeSpan? ParseIncrement(object? value)
    {
        if (value is null or DBNull)
        {
            return null;
        }

        var text = Convert.ToString(value, CultureInfo.InvariantCulture);
        if (!TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out var increment) || increment <= TimeSpan.Zero)
        {
            throw new SqliteStoreException($"The SQLite database '{_dataSource}' records an unreadable bucket increment '{text}' in its metadata table.");
        }

        return increment;
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = CreateCommand(connection, sql, parameters);
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteScalarAsync().ConfigureAwait(false);
        }
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = CreateCommand(connection, sql, parameters);
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    private static SqliteCommand CreateCommand(SqliteConnection connection, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
#pragma warning disable CA2100 // Constant SQL of this class; values travel as parameters.
        command.CommandText = sql;
#pragma warning restore CA2100
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
