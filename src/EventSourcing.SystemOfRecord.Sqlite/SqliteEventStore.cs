using System.Diagnostics.Metrics;
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
/// Reads come in short chunks keyed on the last row read, each its own read transaction: a bucket or a range is never
/// held in memory, and a slow reader never stops SQLite from checkpointing the WAL.
/// </para>
/// <para>
/// Every SQLite error leaves the store as a <see cref="SqliteStoreException"/> that carries SQLite's result code and
/// says whether it is transient. A failed append wrote nothing of its event.
/// </para>
/// <para>
/// Disposing the store writes the appends already queued, then closes its connections; appends started
/// after that fail with <see cref="ObjectDisposedException"/>.
/// </para>
/// </remarks>
public sealed partial class SqliteEventStore : IEventStore, ICheckpointStore, IAsyncDisposable, IDisposable
{
    private readonly SqliteStoreOptions _options;
    private readonly string _connectionString;
    private readonly string _writerConnectionString;
    private readonly string _dataSource;
    private readonly ILogger _logger;
    private readonly SqliteInstruments _instruments;
    private readonly Queue<PendingAppend> _pending = new();
    private readonly TaskCompletionSource _writerExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _writerThread;
    private bool _completed; // guarded by _pending: no more appends are accepted
    private readonly ReadSessions _readSessions;
    private readonly object _schemaGate = new();
    private Task? _schema;
    private long _checkedIncrementTicks; // 0 until EnsureCreatedAsync succeeded
    private long _maxPageCount;
    private int _disposed;

    /// <summary>Creates a store on the file the options name. Nothing is opened until first use.</summary>
    /// <param name="options">The settings; validated here and copied, so later changes have no effect.</param>
    /// <param name="logger">The logger; none when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    /// <param name="meterFactory">Makes the <c>EventSourcing.SystemOfRecord</c> meter (dependency injection passes the container's); a process-wide meter when null.</param>
    public SqliteEventStore(IOptions<SqliteStoreOptions> options, ILogger<SqliteEventStore>? logger = null, IMeterFactory? meterFactory = null)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value, logger, meterFactory)
    {
    }

    /// <inheritdoc cref="SqliteEventStore(IOptions{SqliteStoreOptions}, ILogger{SqliteEventStore}?, IMeterFactory?)"/>
    public SqliteEventStore(SqliteStoreOptions options, ILogger<SqliteEventStore>? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options.Clone();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _instruments = SqliteInstruments.For(meterFactory);

        var builder = new SqliteConnectionStringBuilder(_options.ConnectionString)
        {
            // Microsoft.Data.Sqlite retries a busy statement until this many seconds have passed; SQLite's own
            // busy handler (PRAGMA busy_timeout, set on every connection) does the waiting before that.
            DefaultTimeout = (int)Math.Max(1, Math.Ceiling(_options.BusyTimeout.TotalSeconds)),
        };
        _connectionString = builder.ConnectionString;
        _dataSource = builder.DataSource;

        // The writer's long-lived connection is not pooled: closing it after a failure really closes its file handles.
        builder.Pooling = false;
        _writerConnectionString = builder.ConnectionString;
        _readSessions = new ReadSessions(OpenReadSessionAsync);
    }

    /// <summary>The database file (the connection string's Data Source; never the rest of it, which may hold a password).</summary>
    public string DataSource => _dataSource;

    /// <summary>
    /// For tests: SQLite's <c>PRAGMA max_page_count</c> on every connection opened from now on, so that a file "fills"
    /// (<c>SQLITE_FULL</c>) at a chosen size. 0 (the default) leaves SQLite's limit.
    /// </summary>
    internal long MaxPageCount
    {
        get => Interlocked.Read(ref _maxPageCount);
        set => Interlocked.Exchange(ref _maxPageCount, value);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bucketIncrement"/> is zero or negative.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="BucketIncrementMismatchException">The file was created with another increment.</exception>
    /// <exception cref="SqliteStoreException">
    /// SQLite failed, or the file's schema is newer than this version of the package reads (it is never changed then).
    /// A version-1 file is migrated to the current layout first, in one transaction.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucketIncrement, TimeSpan.Zero);
        ThrowIfDisposed();
        if (Interlocked.Read(ref _checkedIncrementTicks) == bucketIncrement.Ticks)
        {
            return;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var stored = await GuardAsync("Recording the bucket increment", () => RecordBucketIncrementAsync(bucketIncrement, cancellationToken)).ConfigureAwait(false);
        if (stored != bucketIncrement)
        {
            Log.IncrementMismatch(_logger, _dataSource, stored, bucketIncrement);
            throw new BucketIncrementMismatchException(stored, bucketIncrement);
        }

        Interlocked.Exchange(ref _checkedIncrementTicks, bucketIncrement.Ticks);
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="SqliteStoreException">SQLite failed, or the file's schema is newer than this version of the package reads.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await GuardAsync("Reading the bucket increment", () => ReadBucketIncrementAsync(cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes one event durably; it shares a transaction with the appends queued at the same time.
    /// When the returned task completes successfully the event is committed; when it fails, nothing of it was written.
    /// Cancellation takes effect only while the event waits in the queue: once its transaction has begun, the call
    /// waits for the outcome, so that a cancelled append was never written.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="recordedEvent"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// A text field of the event (message, key, topic, a header, type, ...) holds a lone UTF-16 surrogate, which UTF-8
    /// cannot store; nothing was written.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="SqliteStoreException">
    /// SQLite refused the write; nothing of the event was written. <see cref="SqliteStoreException.SqliteErrorCode"/>
    /// says why: 13 (<c>SQLITE_FULL</c>) when the disk is full, 5 or 6 (transient) when another connection held the
    /// lock past <see cref="SqliteStoreOptions.BusyTimeout"/>, 10 (<c>SQLITE_IOERR</c>) when the disk failed.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while the event was queued.</exception>
    public ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        // Check and encode on the caller's thread: bad input fails here, before anything is queued, and the writer stays busy writing.
        Utf16Text.ThrowIfInvalid(recordedEvent);
        var pending = new PendingAppend(recordedEvent, HeadersJson.Encode(recordedEvent.Headers));
        Enqueue(pending);

        return cancellationToken.CanBeCanceled
            ? new ValueTask(WaitCancellableAsync(pending, cancellationToken))
            : new ValueTask(pending.Completion.Task);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Rows come in chunks, each read in a short transaction of its own, so a slow consumer never holds the WAL; an
    /// event appended to the bucket while it is read shows up if it sorts after the last row already returned.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="bucket"/> has <see cref="DateTimeKind.Unspecified"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed (also between chunks of a read under way).</exception>
    /// <exception cref="SqliteStoreException">SQLite failed, or a row is not one this store wrote (thrown while enumerating).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (thrown while enumerating).</exception>
    public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default)
    {
        bucket = UnixTicks.Normalize(bucket, nameof(bucket));
        ThrowIfDisposed();
        var from = UnixTicks.FromUtc(bucket);
        return ReadAsync(from, from + 1, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Rows come in chunks, each read in a short transaction of its own, so a replay that runs for hours never holds
    /// the WAL; an event appended to the range while it is read shows up if it sorts after the last row already returned.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="fromBucket"/> or <paramref name="toExclusive"/> has <see cref="DateTimeKind.Unspecified"/>.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed (also between chunks of a read under way).</exception>
    /// <exception cref="SqliteStoreException">SQLite failed, or a row is not one this store wrote (thrown while enumerating).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (thrown while enumerating).</exception>
    public IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, CancellationToken cancellationToken = default)
    {
        fromBucket = UnixTicks.Normalize(fromBucket, nameof(fromBucket));
        toExclusive = UnixTicks.Normalize(toExclusive, nameof(toExclusive));
        ThrowIfDisposed();
        return ReadAsync(UnixTicks.FromUtc(fromBucket), UnixTicks.FromUtc(toExclusive), cancellationToken);
    }

    /// <summary>
    /// Writes the appends already queued (they fail as any append would, a full disk included), then closes the store's
    /// connections. Never throws; safe to call more than once.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        CompleteQueue();
        await _writerExited.Task.ConfigureAwait(false);
        _readSessions.Dispose();

        // Close the idle pooled connections to the file, so the WAL is checkpointed and the file can be moved or deleted.
        try
        {
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }
        catch (SqliteException ex)
        {
            Log.CloseFailed(_logger, ex, _dataSource);
        }
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Opens a connection with this store's per-connection settings (busy timeout, synchronous): pooled, or the writer's own.</summary>
    internal async ValueTask<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken, bool forWriter = false)
    {
        var connection = new SqliteConnection(forWriter ? _writerConnectionString : _connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
                var maxPageCount = MaxPageCount;
#pragma warning disable CA2100 // Numbers this class formats from validated options.
                command.CommandText = FormattableString.Invariant(
                    $"PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = {(int)_options.Synchronous};")
                    + (maxPageCount > 0 ? FormattableString.Invariant($" PRAGMA max_page_count = {maxPageCount};") : string.Empty);
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

    /// <summary>Runs one operation of the store, turning SQLite's errors into <see cref="SqliteStoreException"/>.</summary>
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
