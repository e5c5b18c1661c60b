using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>
/// A durable processed-event log for <see cref="IdempotentEventHandler"/> in Cassandra: table
/// <c>&lt;Keyspace&gt;.&lt;Table&gt;_processed (event_id timeuuid PRIMARY KEY)</c>, one row per processed id, written
/// <c>USING TTL</c> so that it expires when the event's own time (its <see cref="TimeUuid"/> timestamp) leaves the
/// retention window. Survives restarts and is shared by every consumer instance that points at the same table.
/// Thread-safe; dispose it to close its connections.
/// </summary>
/// <remarks>
/// <para>
/// The TTL of an entry is <c>event time + retention window - now</c>, rounded up to whole seconds, so an entry lives
/// until its event leaves the window however late the event was processed: a replay of old events gets short TTLs, live
/// traffic gets about the whole window. An event already older than the window is not written at all (no INSERT is
/// sent), and <see cref="IsProcessedAsync"/> then answers <see langword="false"/> for it; <see cref="IdempotentEventHandler"/>
/// never asks about such events, it treats them by <see cref="IdempotencyOptions.OlderThanWindow"/>. An event time
/// in the future is capped at Cassandra's largest TTL (20 years).
/// </para>
/// <para>
/// Because Cassandra expires the entries itself, <see cref="PruneAsync"/> does nothing. Give the log the same retention
/// window as the handler's <see cref="IdempotencyOptions.RetentionWindow"/> (or a longer one): entries that expire
/// before the handler's window ends let duplicates through. The TTL is counted by the Cassandra nodes' clocks from the
/// moment of the write; clock skew between this process and the nodes shifts expiry by the same amount.
/// </para>
/// </remarks>
public sealed partial class CassandraProcessedEventLog : IProcessedEventLog, IAsyncDisposable
{
    /// <summary>Cassandra's largest TTL: 20 years, in seconds.</summary>
    internal const int MaxTtlSeconds = 630_720_000;

    /// <summary>The suffix of the table name, after <see cref="CassandraStoreOptions.Table"/>.</summary>
    internal const string TableSuffix = "_processed";

    private readonly CqlCluster _cluster;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly CassandraConsistency _consistency;
    private readonly bool _createSchema;
    private readonly string _table;
    private readonly string _createKeyspace;
    private readonly string _createTable;
    private readonly string _insert;
    private readonly string _select;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;

    /// <summary>Creates the log; nothing is connected until the first call, which also creates the table when asked to.</summary>
    /// <param name="options">
    /// The cluster and where the table lives: contact points, port, credentials, TLS, timeouts and retries as for the
    /// store; <see cref="CassandraStoreOptions.Keyspace"/> and <see cref="CassandraStoreOptions.Table"/> name the table
    /// (<c>&lt;Keyspace&gt;.&lt;Table&gt;_processed</c>); <see cref="CassandraStoreOptions.Consistency"/> (default
    /// <see cref="CassandraConsistency.LocalQuorum"/>) applies to every read and write; <see cref="CassandraStoreOptions.CreateSchema"/>
    /// and <see cref="CassandraStoreOptions.Replication"/> to the keyspace and table it creates. The shard count, page size,
    /// large-bucket threshold and serial consistency are not used. The same options object as the store's may be passed;
    /// the settings are copied here.
    /// </param>
    /// <param name="retentionWindow">How long after its event time an id is remembered; use the handler's <see cref="IdempotencyOptions.RetentionWindow"/>. At most 20 years.</param>
    /// <param name="timeProvider">The clock TTLs are computed against, and back-off delays wait on; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">The logger; none when null.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="retentionWindow"/> is not positive or longer than 20 years.</exception>
    public CassandraProcessedEventLog(CassandraStoreOptions options, TimeSpan retentionWindow, TimeProvider? timeProvider = null, ILogger<CassandraProcessedEventLog>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retentionWindow, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(retentionWindow, TimeSpan.FromSeconds(MaxTtlSeconds));
        CassandraStoreOptionsValidator.ThrowIfInvalid(options);

        RetentionWindow = retentionWindow;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _consistency = options.Consistency;
        _createSchema = options.CreateSchema;

        // Identifiers are validated above (a letter, then letters, digits or '_'); values are always bound.
        _table = $"{options.Keyspace}.{options.Table}{TableSuffix}";
        _createKeyspace = CassandraStatements.CreateKeyspace(options.Keyspace, new Dictionary<string, string>(options.Replication, StringComparer.Ordinal));
        _createTable = $"CREATE TABLE IF NOT EXISTS {_table} (event_id timeuuid PRIMARY KEY)";
        _insert = $"INSERT INTO {_table} (event_id) VALUES (?) USING TTL ?";
        _select = $"SELECT event_id FROM {_table} WHERE event_id = ?";
        _cluster = new CqlCluster(
            options.ToClientSettings(_timeProvider),
            _logger);
    }

    /// <summary>How long after its event time an id is remembered.</summary>
    public TimeSpan RetentionWindow { get; }

    /// <inheritdoc />
    /// <exception cref="CassandraException">The read (or the first call's schema creation) failed, after retries of transient errors.</exception>
    public async ValueTask<bool> IsProcessedAsync(TimeUuid eventId, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var _ in _cluster.QueryAsync(Statement(_select, [eventId]), cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        return false;
    }

    /// <inheritdoc />
    /// <remarks>
    /// One idempotent <c>INSERT ... USING TTL</c>, retried on transient errors; marking again rewrites the row with the
    /// same expiry moment. An id whose event time is already before <c>now - RetentionWindow</c> is not written.
    /// </remarks>
    /// <exception cref="CassandraException">The write (or the first call's schema creation) failed, after retries of transient errors; it may or may not have been applied.</exception>
    public async ValueTask MarkProcessedAsync(TimeUuid eventId, CancellationToken cancellationToken = default)
    {
        var ttl = TtlSeconds(eventId.GetTimestamp());
        if (ttl == 0)
        {
            Log.NotRecordedOutsideWindow(_logger, eventId, RetentionWindow);
            return;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await _cluster.ExecuteAsync(Statement(_insert, [eventId, ttl]), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Does nothing and returns 0: every entry was written with a TTL that ends when its event leaves the retention
    /// window, so Cassandra drops it by itself (and compaction purges it). Counting what expired would need a scan of the
    /// whole table. Entries are not removed earlier than their TTL, even when <paramref name="eventTimeBefore"/> is later
    /// than <c>now - RetentionWindow</c>.
    /// </summary>
    /// <returns>0.</returns>
    public ValueTask<long> PruneAsync(DateTimeOffset eventTimeBefore, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(0L);

    /// <summary>Closes the connections to the cluster, every node's even if one fails to close. Does not throw.</summary>
    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync().ConfigureAwait(false);
        _schemaGate.Dispose();
    }

    /// <summary>The TTL of an entry for an event of this time: until the event leaves the window, in whole seconds rounded up; 0 when it already has.</summary>
    internal int TtlSeconds(DateTimeOffset eventTime)
    {
        var remainingTicks = eventTime.UtcTicks + RetentionWindow.Ticks - _timeProvider.GetUtcNow().UtcTicks;
        if (remainingTicks <= 0)
        {
            return 0;
        }

        var seconds = (remainingTicks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;
        return (int)Math.Min(seconds, MaxTtlSeconds);
    }

    private ValueTask EnsureSchemaAsync(CancellationToken cancellationToken) =>
        _schemaReady || !_createSchema ? ValueTask.CompletedTask : new ValueTask(CreateSchemaAsync(cancellationToken));

    private async Task CreateSchemaAsync(CancellationToken cancellationToken)
    {
        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_schemaReady)
            {
                return;
            }

            // IF NOT EXISTS makes this safe when several consumers start at once; agreement before the first write.
            foreach (var ddl in new[] { _createKeyspace, _createTable })
            {
                var result = await _cluster.ExecuteAsync(new CqlStatement(ddl, [], _consistency, IsIdempotent: true, Prepare: false), cancellationToken).ConfigureAwait(false);
                if (result is SchemaChangeResult)
                {
                    await _cluster.WaitForSchemaAgreementAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            _schemaReady = true;
            Log.Ready(_logger, _table, RetentionWindow);
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    private CqlStatement Statement(string cql, IReadOnlyList<object?> values) =>
        new(cql, values, _consistency, IsIdempotent: true, Prepare: true);
}
