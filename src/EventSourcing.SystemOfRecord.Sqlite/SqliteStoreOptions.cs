using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Sqlite;

/// <summary>Settings of a <see cref="SqliteEventStore"/>.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The default <see cref="BusyTimeout"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultBusyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The default <see cref="MaxBatchSize"/>: 512 events.</summary>
    public const int DefaultMaxBatchSize = 512;

    /// <summary>The largest <see cref="MaxBatchSize"/> accepted.</summary>
    public const int MaxBatchSizeLimit = 100_000;

    /// <summary>
    /// The Microsoft.Data.Sqlite connection string of the database file, for example <c>Data Source=events.db</c>.
    /// Required. The file is created when missing; in-memory and read-only databases are refused.
    /// </summary>
    /// <value>The default is <see langword="null"/>, which fails validation.</value>
    public string? ConnectionString { get; set; }

    /// <summary>When a commit reaches the disk (SQLite's <c>PRAGMA synchronous</c>).</summary>
    /// <value>
    /// The default is <see cref="SqliteSynchronousMode.Full"/>: an append that completed survives a power loss.
    /// </value>
    public SqliteSynchronousMode Synchronous { get; set; } = SqliteSynchronousMode.Full;

    /// <summary>
    /// How long an operation waits for a lock held by another connection or process on the same file
    /// before it fails with SQLite's "database is locked". It becomes SQLite's <c>PRAGMA busy_timeout</c> on every
    /// connection, and Microsoft.Data.Sqlite's own retry of a busy statement (its <c>Default Timeout</c>, which this
    /// setting replaces) gets the same time rounded up to whole seconds, at least one.
    /// </summary>
    /// <value>The default is 30 seconds. Zero or more, at most <see cref="int.MaxValue"/> milliseconds.</value>
    public TimeSpan BusyTimeout { get; set; } = DefaultBusyTimeout;

    /// <summary>
    /// The most appends that share one transaction (one fsync). Concurrent appends wait in a queue while a commit
    /// is under way; the next transaction takes up to this many of them.
    /// </summary>
    /// <value>The default is 512. From 1 to 100 000.</value>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>Every problem with these options, or an empty list. Never quotes the connection string.</summary>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        ValidateConnectionString(errors);

        if (!Enum.IsDefined(Synchronous))
        {
            errors.Add($"{nameof(Synchronous)} must be one of Off, Normal, Full or Extra (got {(int)Synchronous}).");
        }

        if (BusyTimeout < TimeSpan.Zero || BusyTimeout.TotalMilliseconds > int.MaxValue)
        {
            errors.Add($"{nameof(BusyTimeout)} must be from zero to {int.MaxValue} milliseconds (got {BusyTimeout}).");
        }

        if (MaxBatchSize is < 1 or > MaxBatchSizeLimit)
        {
            errors.Add($"{nameof(MaxBatchSize)} must be from 1 to {MaxBatchSizeLimit} (got {MaxBatchSize}).");
        }

        return errors;
    }

    /// <summary>Throws one <see cref="OptionsValidationException"/> naming every bad setting.</summary>
    internal void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(SqliteStoreOptions), errors);
        }
    }

    /// <summary>A copy, so that later changes to these options do not reach a running store.</summary>
    internal SqliteStoreOptions Clone() => new()
    {
        ConnectionString = ConnectionString,
        Synchronous = Synchronous,
        BusyTimeout = BusyTimeout,
        MaxBatchSize = MaxBatchSize,
    };

    private void ValidateConnectionString(List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add($"{nameof(ConnectionString)} is required, for example \"Data Source=events.db\".");
            return;
        }

        SqliteConnectionStringBuilder builder;
        try
        {
            builder = new SqliteConnectionStringBuilder(ConnectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            // The parser's message names a keyword, never a value, so it cannot leak a password.
            errors.Add($"{nameof(ConnectionString)} is not a valid SQLite connection string: {ex.Message}");
            return;
        }

        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            errors.Add($"{nameof(ConnectionString)} must name a database file with Data Source.");
        }
        else if (builder.Mode == SqliteOpenMode.Memory || string.Equals(builder.DataSource.Trim(), ":memory:", StringComparison.Ordinal))
        {
            errors.Add($"{nameof(ConnectionString)} names an in-memory database, which is neither durable nor shared; use a file, or the in-memory store (UseInMemory).");
        }
        else if (builder.Mode == SqliteOpenMode.ReadOnly)
        {
            errors.Add($"{nameof(ConnectionString)} opens the database read-only (Mode=ReadOnly); the store needs to write.");
        }
    }
}

/// <summary>Validates <see cref="SqliteStoreOptions"/> at start, with one message naming every bad setting.</summary>
internal sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
