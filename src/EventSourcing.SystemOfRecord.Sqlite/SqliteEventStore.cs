using System.Runtime.CompilerServices;
using EventSourcing.SystemOfRecord.Sqlite.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Sqlite;

/// <summary>
/// The system of record in a SQLite file: a time-bucketed <c>events</c> table in WAL mode. An append is durable
/// (with the default <see cref="SqliteSynchronousMode.Full"/>) when its task completes. Concurrent appends share
/// transactions (group commit), so throughput grows with concurrency instead of paying one fsync each.
/// Several stores, in one process or several, may open the same file. Keeps named checkpoints
/// (<see cref="ICheckpointStore"/>) in the same file. Thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// Reads stream rows from their own pooled connection and never hold a bucket or a range in memory.
/// </para>
/// <para>
/// Disposing the store writes the appends already queued, then closes its connections; appends started
/// after that fail with <see cref="ObjectDisposedException"/>.
/// </para>
/// </remarks>
public sealed partial class SqliteEventStore : IEventStore, ICheckpointStore, IAsyncDisposable, IDisposable
{
    private const string SelectColumns = "SELECT time_bucket, event_id, message, topic, key, headers FROM events ";

    private readonly SqliteStoreOptions _options;
    private readonly string _connectionString;
    private readonly string _dataSource;
    private readonly ILogger _logger;
    private readonly Queue<PendingAppend> _pending = new();
    private readonly TaskCompletionSource _writerExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _writerThread;
    private bool _completed; // guarded by _pending: no more appends are accepted
    private readonly object _schemaGate = new();
    private Task? _schema;
    private long _checkedIncrementTicks; // 0 until EnsureCreatedAsync succeeded
    private int _disposed;

    /// <summary>Creates a store on the file the options name. Nothing is opened until first use.</summary>
    /// <param name="options">The settings; validated here and copied, so later changes have no effect.</param>
    /// <param name="logger">The logger; none when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    public SqliteEventStore(IOptions<SqliteStoreOptions> options, ILogger<SqliteEventStore>? logger = null)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value, logger)
    {
    }

    /// <inheritdoc cref="SqliteEventStore(IOptions{SqliteStoreOptions}, ILogger{SqliteEventStore}?)"/>
    public SqliteEventStore(SqliteStoreOptions options, ILogger<SqliteEventStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options.Clone();
        _logger = (ILogger?)logger ?? NullLogger.Instance;

        var builder = new SqliteConnectionStringBuilder(_options.ConnectionString)
        {
            // Microsoft.Data.Sqlite retries a busy statement until this many seconds have passed; SQLite's own
            // busy handler (PRAGMA busy_timeout, set on every connection) does the waiting before that.
            DefaultTimeout = (int)Math.Max(1, Math.Ceiling(_options.BusyTimeout.TotalSeconds)),
        };
        _connectionString = builder.ConnectionString;
        _dataSource = builder.DataSource;
    }

    /// <summary>The database file (the connection string's Data Source; never the rest of it, which may hold a password).</summary>
    public string DataSource => _dataSource;

    /// <inheritdoc />
    public async ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucketIncrement, TimeSpan.Zero);
        ThrowIfDisposed();
        if (Interlocked.Read(ref _checkedIncrementTicks) == bucketIncrement.Ticks)
        {
            return;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var stored = await RecordBucketIncrementAsync(bucketIncrement, cancellationToken).ConfigureAwait(false);
        if (stored != bucketIncrement)
        {
            Log.IncrementMismatch(_logger, _dataSource, stored, bucketIncrement);
            throw new BucketIncrementMismatchException(stored, bucketIncrement);
        }

        Interlocked.Exchange(ref _checkedIncrementTicks, bucketIncrement.Ticks);
    }

    /// <inheritdoc />
    public async ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await ReadBucketIncrementAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes one event durably; it shares a transaction with the appends queued at the same time.
    /// When the returned task completes successfully the event is committed; when it fails, nothing of it was written.
    /// Cancellation takes effect only while the event waits in the queue: once its transaction has begun, the call
    /// waits for the outcome, so that a cancelled append was never written.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="recordedEvent"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="SqliteException">SQLite refused the write (disk full, database locked past the busy timeout, ...); nothing was written.</exception>
    public ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        // Encode on the caller's thread: bad input fails here, before anything is queued, and the writer stays busy writing.
        var pending = new PendingAppend(recordedEvent, HeadersJson.Encode(recordedEvent.Headers));
        Enqueue(pending);

        return cancellationToken.CanBeCanceled
            ? new ValueTask(WaitCancellableAsync(pending, cancellationToken))
            : new ValueTask(pending.Completion.Task);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default)
    {
        bucket = UnixTicks.Normalize(bucket, nameof(bucket));
        ThrowIfDisposed();
        var from = UnixTicks.FromUtc(bucket);
        return ReadAsync("WHERE time_bucket = $from ORDER BY event_id", from, from, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, CancellationToken cancellationToken = default)
    {
        fromBucket = UnixTicks.Normalize(fromBucket, nameof(fromBucket));
        toExclusive = UnixTicks.Normalize(toExclusive, nameof(toExclusive));
        ThrowIfDisposed();
        return ReadAsync(
            "WHERE time_bucket >= $from AND time_bucket < $to ORDER BY time_bucket, event_id",
            UnixTicks.FromUtc(fromBucket),
            UnixTicks.FromUtc(toExclusive),
            cancellationToken);
    }

    /// <summary>Writes the appends already queued, then closes the store's connections. Safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        CompleteQueue();
        await _writerExited.Task.ConfigureAwait(false);

        // Close the idle pooled connections to the file, so the WAL is checkpointed and the file can be moved or deleted.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async IAsyncEnumerable<RecordedEvent> ReadAsync(string where, long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
#pragma warning disable CA2100 // The text is one of two constants of this class; values travel as parameters.
                command.CommandText = SelectColumns + where;
#pragma warning restore CA2100
                command.Parameters.Add("$from", SqliteType.Integer).Value = from;
                command.Parameters.Add("$to", SqliteType.Integer).Value = to;

                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    var key = new byte[SortableEventId.Size];
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        yield return ReadEvent(reader, key);
                    }
                }
            }
        }
    }

    private static RecordedEvent ReadEvent(SqliteDataReader reader, byte[] key)
    {
        var bucket = UnixTicks.ToUtc(reader.GetInt64(0));
        var length = reader.GetBytes(1, 0, key, 0, key.Length);
        if (length != SortableEventId.Size || reader.GetBytes(1, 0, null, 0, 0) != SortableEventId.Size)
        {
            throw new FormatException($"An events.event_id value is not {SortableEventId.Size} bytes long; the database was not written by this store.");
        }

        return new RecordedEvent(
            bucket,
            SortableEventId.Decode(key),
            reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.GetString(2),
            HeadersJson.Decode(reader.IsDBNull(5) ? null : reader.GetString(5)));
    }

    /// <summary>Opens a pooled connection with this store's per-connection settings (busy timeout, synchronous).</summary>
    internal async ValueTask<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
#pragma warning disable CA2100 // Two numbers this class formats from validated options.
                command.CommandText = FormattableString.Invariant(
                    $"PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = {(int)_options.Synchronous};");
#pragma warning restore CA2100
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task WaitCancellableAsync(PendingAppend pending, CancellationToken cancellationToken)
    {
        var registration = cancellationToken.UnsafeRegister(
            static (state, token) =>
            {
                var queued = (PendingAppend)state!;
                if (queued.TryCancel())
                {
                    queued.Completion.TrySetCanceled(token);
                }
            },
            pending);
        await using (registration.ConfigureAwait(false))
        {
            await pending.Completion.Task.ConfigureAwait(false);
        }
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            ThrowDisposed();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(SqliteEventStore));
}
