using System.Globalization;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite;

public sealed partial class SqliteEventStore
{
    /// <summary>The schema version this store writes and reads.</summary>
    internal const int SchemaVersion = 1;

    private const string SchemaVersionKey = "schema_version";
    private const string BucketIncrementKey = "bucket_increment";

    // time_bucket and ts: 100 ns units since the Unix epoch (UTC). event_id: the 16-byte sortable layout of
    // SortableEventId, so the primary key orders rows as TimeUuid.CompareTo does. headers: a JSON object, or NULL.
    private const string CreateSchemaSql = """
        CREATE TABLE IF NOT EXISTS metadata (
            name  TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS events (
            time_bucket INTEGER NOT NULL,
            event_id    BLOB    NOT NULL CHECK (length(event_id) = 16),
            ts          INTEGER NOT NULL,
            message     TEXT    NOT NULL,
            topic       TEXT    NOT NULL,
            key         TEXT,
            headers     TEXT,
            PRIMARY KEY (time_bucket, event_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS checkpoints (
            name  TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        """;

    /// <summary>Creates the tables once per store instance (and re-tries after a failure).</summary>
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
    /// Switches the file to WAL and creates the tables inside <c>BEGIN IMMEDIATE</c>, so that stores in several
    /// processes racing to create them take turns: creation is idempotent and race-free.
    /// </summary>
    private async Task CreateSchemaAsync()
    {
        var connection = await OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // The journal mode is stored in the file; it can only change outside a transaction.
            var journalMode = Convert.ToString(await ScalarAsync(connection, null, "PRAGMA journal_mode = WAL;").ConfigureAwait(false), CultureInfo.InvariantCulture);
            if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"The SQLite database '{_dataSource}' could not be switched to WAL journal mode (it is in '{journalMode}' mode); the event store needs WAL.");
            }

            var transaction = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: take the write lock first
            await using (transaction.ConfigureAwait(false))
            {
                var existed = Convert.ToInt64(
                    await ScalarAsync(connection, transaction, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events';").ConfigureAwait(false),
                    CultureInfo.InvariantCulture) > 0;
                await ExecuteAsync(connection, transaction, CreateSchemaSql).ConfigureAwait(false);
                await ExecuteAsync(
                    connection,
                    transaction,
                    "INSERT OR IGNORE INTO metadata (name, value) VALUES ($name, $value);",
                    ("$name", SchemaVersionKey),
                    ("$value", SchemaVersion.ToString(CultureInfo.InvariantCulture))).ConfigureAwait(false);
                var version = await ScalarAsync(connection, transaction, "SELECT value FROM metadata WHERE name = $name;", ("$name", SchemaVersionKey)).ConfigureAwait(false);
                if (!int.TryParse(Convert.ToString(version, CultureInfo.InvariantCulture), NumberStyles.None, CultureInfo.InvariantCulture, out var stored)
                    || stored > SchemaVersion)
                {
                    throw new InvalidOperationException(
                        $"The SQLite database '{_dataSource}' has events schema version {version}; this version of EventSourcing.SystemOfRecord.Sqlite reads version {SchemaVersion}. Upgrade the package.");
                }

                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                if (!existed)
                {
                    Log.SchemaCreated(_logger, _dataSource, SchemaVersion);
                }
            }
        }

        Log.Opened(_logger, _dataSource, _options.Synchronous, _options.MaxBatchSize);
    }

    /// <summary>Records the increment unless one is recorded already; returns the recorded one.</summary>
    private async Task<TimeSpan> RecordBucketIncrementAsync(TimeSpan increment, CancellationToken cancellationToken)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: take the write lock first
            await using (transaction.ConfigureAwait(false))
            {
                await ExecuteAsync(
                    connection,
                    transaction,
                    "INSERT OR IGNORE INTO metadata (name, value) VALUES ($name, $value);",
                    ("$name", BucketIncrementKey),
                    ("$value", increment.ToString("c", CultureInfo.InvariantCulture))).ConfigureAwait(false);
                var stored = ParseIncrement(await ScalarAsync(connection, transaction, "SELECT value FROM metadata WHERE name = $name;", ("$name", BucketIncrementKey)).ConfigureAwait(false));
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return stored ?? increment;
            }
        }
    }

    private async Task<TimeSpan?> ReadBucketIncrementAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return ParseIncrement(await ScalarAsync(connection, null, "SELECT value FROM metadata WHERE name = $name;", ("$name", BucketIncrementKey)).ConfigureAwait(false));
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
            throw new InvalidOperationException($"The SQLite database '{_dataSource}' records an unreadable bucket increment '{text}' in its metadata table.");
        }

        return increment;
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = CreateCommand(connection, transaction, sql, parameters);
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteScalarAsync().ConfigureAwait(false);
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = CreateCommand(connection, transaction, sql, parameters);
        await using (command.ConfigureAwait(false))
        {
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    private static SqliteCommand CreateCommand(SqliteConnection connection, SqliteTransaction? transaction, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
#pragma warning disable CA2100 // Constant SQL of this class; values travel as parameters.
        command.CommandText = sql;
#pragma warning restore CA2100
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
