using EventSourcing.SystemOfRecord.Cassandra;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cli.Stores;

/// <summary>
/// An opened system of record store and the bucket increment it was created with. The tool never creates a store:
/// a missing SQLite file, keyspace or events table is an error, not a new empty store.
/// </summary>
internal sealed class StoreSession : IAsyncDisposable
{
    private StoreSession(IEventStore store, TimeSpan increment, string description)
    {
        Store = store;
        Increment = increment;
        Description = description;
    }

    public IEventStore Store { get; }

    /// <summary>The width of the store's buckets, as the store recorded it.</summary>
    public TimeSpan Increment { get; }

    /// <summary>The store in words (never a password).</summary>
    public string Description { get; }

    /// <summary>The store's named checkpoints.</summary>
    /// <exception cref="CliException">The store keeps none.</exception>
    public ICheckpointStore Checkpoints => Store as ICheckpointStore
        ?? throw new CliException(ExitCodes.Refused, $"{Description} keeps no checkpoints.");

    /// <summary>The start of the bucket that holds <paramref name="utc"/>.</summary>
    public DateTime BucketOf(DateTime utc) => TimeBuckets.Floor(utc, Increment.Ticks);

    /// <summary>Opens the store and reads its increment.</summary>
    /// <exception cref="CliException">The store cannot be reached or holds no system of record (exit code 3).</exception>
    public static async Task<StoreSession> OpenAsync(StoreSettings settings, ILoggerFactory logging, CancellationToken cancellationToken)
    {
        var description = settings.Describe();
        if (settings.SqlitePath is { } path)
        {
            await CheckSqliteFileAsync(path, description, cancellationToken);
        }

        var store = Create(settings, logging);
        try
        {
            var increment = await store.GetBucketIncrementAsync(cancellationToken)
                ?? throw new CliException(
                    ExitCodes.StoreUnavailable,
                    $"{Capitalize(description)} holds no system of record (no bucket increment was ever recorded). "
                    + (settings.SqlitePath is null ? "Check --keyspace and --table." : "Check the path."));

            // Checks the store's own settings against ours (Cassandra: the shard count); creates nothing that is missing.
            await store.EnsureCreatedAsync(increment, cancellationToken);
            return new StoreSession(store, increment, description);
        }
        catch (Exception ex) when (ex is not CliException and not OperationCanceledException)
        {
            await DisposeStoreAsync(store);
            throw new CliException(ExitCodes.StoreUnavailable, $"Cannot open {description}: {ex.Message}", ex);
        }
        catch
        {
            await DisposeStoreAsync(store);
            throw;
        }
    }

    public ValueTask DisposeAsync() => DisposeStoreAsync(Store);

    /// <summary>
    /// Refuses a path that is not a SQLite system of record before the store opens it: opening creates the schema, and
    /// the tool must not turn someone's other database into an events store (nor switch it to WAL).
    /// </summary>
    private static async Task CheckSqliteFileAsync(string path, string description, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new CliException(ExitCodes.StoreUnavailable, $"There is no SQLite file at {path}.");
        }

        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ConnectionString;
        try
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'metadata');";
            if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) < 2)
            {
                throw new CliException(ExitCodes.StoreUnavailable, $"{Capitalize(description)} holds no system of record (it has no events and metadata tables).");
            }
        }
        catch (SqliteException ex)
        {
            throw new CliException(ExitCodes.StoreUnavailable, $"Cannot open {description}: {ex.Message}", ex);
        }
    }

    private static IEventStore Create(StoreSettings settings, ILoggerFactory logging)
    {
        if (settings.SqlitePath is { } path)
        {
            // Mode=ReadWrite: open an existing file, never create one.
            var connection = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite };
            return new SqliteEventStore(new SqliteStoreOptions { ConnectionString = connection.ConnectionString }, logging.CreateLogger<SqliteEventStore>());
        }

        var options = new CassandraStoreOptions
        {
            ContactPoints = [.. settings.CassandraContactPoints],
            Keyspace = settings.Keyspace,
            ShardCount = settings.Shards,
            UserName = settings.UserName,
            Password = settings.Password,
            ConnectTimeout = settings.ConnectTimeout,
            CreateSchema = false,
        };
        if (settings.Table is { } table)
        {
            options.Table = table;
        }

        try
        {
            return new CassandraEventStore(Options.Create(options), logger: logging.CreateLogger<CassandraEventStore>());
        }
        catch (OptionsValidationException ex)
        {
            throw new CliException(ExitCodes.Usage, ex.Message, ex);
        }
    }

    private static async ValueTask DisposeStoreAsync(IEventStore store)
    {
        switch (store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
