using EventSourcing.SystemOfRecord.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite;

/// <summary>
/// A durable processed-event log for <see cref="IdempotentEventHandler"/> in a SQLite file, usually the downstream's
/// own database: table <c>processed_events (event_id, event_time)</c>. Survives restarts, so duplicates are
/// recognised across them. A mark is durable when its task completes (per <see cref="SqliteStoreOptions.Synchronous"/>).
/// Thread-safe; several processes may share the file.
/// </summary>
public sealed class SqliteProcessedEventLog : IProcessedEventLog
{
    private readonly SqliteStoreOptions _options;
    private readonly string _connectionString;
    private readonly string _dataSource;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;

    /// <summary>Creates a log in the SQLite file <paramref name="connectionString"/> names (created when missing).</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException"><paramref name="connectionString"/> is null, empty, or names no usable file.</exception>
    public SqliteProcessedEventLog(string connectionString)
        : this(new SqliteStoreOptions { ConnectionString = connectionString })
    {
    }

    /// <summary>Creates a log with the store's settings (connection string, synchronous mode, busy timeout); the batch size is not used.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    public SqliteProcessedEventLog(SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options.Clone();
        var builder = new SqliteConnectionStringBuilder(_options.ConnectionString)
        {
            DefaultTimeout = (int)Math.Max(1, Math.Ceiling(_options.BusyTimeout.TotalSeconds)),
        };
        _connectionString = builder.ConnectionString;
        _dataSource = builder.DataSource;
    }

    /// <inheritdoc />
    /// <exception cref="SqliteStoreException">SQLite failed (a lock held past the busy timeout is transient).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<bool> IsProcessedAsync(TimeUuid eventId, CancellationToken cancellationToken = default) =>
        GuardAsync("Looking up a processed event", () => IsProcessedCoreAsync(eventId, cancellationToken));

    /// <inheritdoc />
    /// <exception cref="SqliteStoreException">SQLite failed (a full disk: 13; a lock held past the busy timeout: 5 or 6, transient); the event is not marked.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask MarkProcessedAsync(TimeUuid eventId, CancellationToken cancellationToken = default) =>
        GuardAsync("Marking an event processed", () => MarkProcessedCoreAsync(eventId, cancellationToken));

    /// <inheritdoc />
    /// <exception cref="SqliteStoreException">SQLite failed; nothing was pruned.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<long> PruneAsync(DateTimeOffset eventTimeBefore, CancellationToken cancellationToken = default) =>
        GuardAsync("Pruning processed events", () => PruneCoreAsync(eventTimeBefore, cancellationToken));

    private async Task<bool> IsProcessedCoreAsync(TimeUuid eventId, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = Command(connection, "SELECT 1 FROM processed_events WHERE event_id = $id;", ("$id", SortableEventId.Encode(eventId)));
            await using (command.ConfigureAwait(false))
            {
                return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
            }
        }
    }

    private async Task MarkProcessedCoreAsync(TimeUuid eventId, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = Command(
                connection,
                "INSERT OR IGNORE INTO processed_events (event_id, event_time) VALUES ($id, $time);",
                ("$id", SortableEventId.Encode(eventId)),
                ("$time", UnixTicks.FromUtc(eventId.GetTimestamp().UtcDateTime)));
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<long> PruneCoreAsync(DateTimeOffset eventTimeBefore, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = Command(connection, "DELETE FROM processed_events WHERE event_time < $before;", ("$before", UnixTicks.FromUtc(eventTimeBefore.UtcDateTime)));
            await using (command.ConfigureAwait(false))
            {
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<T> GuardAsync<T>(string operation, Func<Task<T>> work)
    {
        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw SqliteStoreException.From(ex, operation, _dataSource);
        }
    }

    private async ValueTask GuardAsync(string operation, Func<Task> work) =>
        await GuardAsync(operation, async () =>
        {
            await work().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);

    private async ValueTask<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var pragmas = Command(connection, FormattableString.Invariant(
                $"PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = {(int)_options.Synchronous};"));
            await using (pragmas.ConfigureAwait(false))
            {
                await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            if (!_schemaReady)
            {
                await CreateSchemaAsync(connection, cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task CreateSchemaAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_schemaReady)
            {
                return;
            }

            // IF NOT EXISTS makes this safe when several processes start at once.
            var create = Command(connection, """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS processed_events (event_id BLOB NOT NULL PRIMARY KEY, event_time INTEGER NOT NULL) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS processed_events_by_time ON processed_events (event_time);
                """);
            await using (create.ConfigureAwait(false))
            {
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
#pragma warning disable CA2100 // Constant SQL, or two numbers formatted from validated options.
        command.CommandText = sql;
#pragma warning restore CA2100
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
