using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// The client's entry point: a set of nodes from the contact points, round-robin over the live ones with failover,
/// a prepared-statement cache with re-prepare on UNPREPARED, paging, and a Polly pipeline that retries transient
/// errors of idempotent statements.
/// </summary>
internal sealed partial class CqlCluster : IAsyncDisposable
{
    private readonly CqlClientSettings _settings;
    private readonly ILogger _logger;
    private readonly CqlHost[] _hosts;
    private readonly ConcurrentDictionary<string, PreparedResult> _prepared = new(StringComparer.Ordinal);
    private readonly ResiliencePipeline _retry;
    private (long Token, CqlHost Host)[] _ring = [];
    private int _next = -1;
    private int _disposed;

    public CqlCluster(CqlClientSettings settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.ContactPoints.Count == 0)
        {
            throw new ArgumentException("At least one contact point is needed.", nameof(settings));
        }

        _settings = settings;
        _logger = logger;
        _hosts = settings.ContactPoints.Select(point =>
        {
            var (address, port) = TryParseContactPoint(point, settings.Port) ?? throw new ArgumentException($"'{point}' is not a contact point (host or host:port).", nameof(settings));
            return new CqlHost(address, port, settings, logger);
        }).ToArray();
        foreach (var host in _hosts)
        {
            host.TokensLoaded += RebuildRing;
        }

        _retry = settings.MaxRetries == 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder { TimeProvider = settings.TimeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<CassandraException>(ex => ex.IsTransient),
                MaxRetryAttempts = settings.MaxRetries,
                Delay = settings.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    CassandraDiagnostics.Retries.Add(1);
                    Log.Retrying(_logger, args.Outcome.Exception, args.AttemptNumber + 1, args.RetryDelay);
                    return default;
                },
            })
            .Build();
    }

    public IReadOnlyList<CqlHost> Hosts => _hosts;

    /// <summary>Runs a statement; transient errors of idempotent statements are retried (on the next node of the plan).</summary>
    public Task<ResultResponse> ExecuteAsync(CqlStatement statement, CancellationToken cancellationToken = default) =>
        ExecuteAsync(statement, null, new CqlAttempts(), cancellationToken);

    /// <summary>Streams every row of a SELECT, page by page (<see cref="CqlStatement.PageSize"/>); each page is retried on its own.</summary>
    public async IAsyncEnumerable<CqlRow> QueryAsync(CqlStatement statement, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        byte[]? pagingState = null;
        do
        {
            var result = await ExecuteAsync(statement, pagingState, cancellationToken).ConfigureAwait(false);
            if (result is not RowsResult rows)
            {
                throw new CassandraProtocolException($"Expected rows from '{statement.Cql}'; got {result.GetType().Name}.");
            }

            foreach (var row in rows.Rows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return row;
            }

            pagingState = rows.Metadata.PagingState;
        }
        while (pagingState is not null);
    }

    /// <summary>Runs one page of a statement.</summary>
    public Task<ResultResponse> ExecuteAsync(CqlStatement statement, byte[]? pagingState, CancellationToken cancellationToken) =>
        ExecuteAsync(statement, pagingState, new CqlAttempts(), cancellationToken);

    /// <summary>Runs a statement; <paramref name="attempts"/> tells afterwards whether a failed write may still have been applied.</summary>
    public Task<ResultResponse> ExecuteAsync(CqlStatement statement, CqlAttempts attempts, CancellationToken cancellationToken) =>
        ExecuteAsync(statement, null, attempts, cancellationToken);

    private async Task<ResultResponse> ExecuteAsync(CqlStatement statement, byte[]? pagingState, CqlAttempts attempts, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!statement.IsIdempotent)
        {
            return await ExecuteOnceAsync(statement, pagingState, attempts, cancellationToken).ConfigureAwait(false);
        }

        return await _retry.ExecuteAsync(
            async token => await ExecuteOnceAsync(statement, pagingState, attempts, token).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs prepared statements as one BATCH (unlogged by default: meant for statements of one partition, which
    /// Cassandra then applies atomically). Consistency, serial consistency and timestamp come from the first statement;
    /// retried like a statement when every statement is idempotent.
    /// </summary>
    public async Task ExecuteBatchAsync(IReadOnlyList<CqlStatement> statements, CqlBatchType type = CqlBatchType.Unlogged, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statements);
        if (statements.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one statement.", nameof(statements));
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var attempts = new CqlAttempts();
        if (!statements.All(s => s.IsIdempotent))
        {
            await RunOnFirstReachableAsync(c => ExecuteBatchOnConnectionAsync(c, statements, type, cancellationToken), attempts, cancellationToken, RoutingToken(statements[0])).ConfigureAwait(false);
            return;
        }

        await _retry.ExecuteAsync(
            async token => await RunOnFirstReachableAsync(c => ExecuteBatchOnConnectionAsync(c, statements, type, token), attempts, token, RoutingToken(statements[0])).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until every node the coordinator knows reports the same schema version (system.local and system.peers),
    /// or the agreement timeout passes (then logs a warning and goes on).
    /// </summary>
    public async Task WaitForSchemaAgreementAsync(CancellationToken cancellationToken)
    {
        var deadline = _settings.TimeProvider.GetUtcNow() + _settings.SchemaAgreementTimeout;
        while (true)
        {
            var versions = new HashSet<Guid>();
            await foreach (var row in QueryAsync(new CqlStatement("SELECT schema_version FROM system.local WHERE key='local'", [], CassandraConsistency.One, Prepare: false), cancellationToken).ConfigureAwait(false))
            {
                if (row["schema_version"] is Guid version)
                {
                    versions.Add(version);
                }
            }

            await foreach (var row in QueryAsync(new CqlStatement("SELECT peer, rpc_address, schema_version FROM system.peers", [], CassandraConsistency.One, Prepare: false), cancellationToken).ConfigureAwait(false))
            {
                if (row["schema_version"] is Guid version)
                {
                    versions.Add(version);
                }
            }

            if (versions.Count <= 1)
            {
                return;
            }

            if (_settings.TimeProvider.GetUtcNow() >= deadline)
            {
                Log.NoSchemaAgreement(_logger, versions.Count, _settings.SchemaAgreementTimeout);
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), _settings.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Best effort: one host that fails to close must not keep the others open.
        foreach (var host in _hosts)
        {
            try
            {
                await host.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.HostDisposeFailed(_logger, ex, host.Endpoint);
            }
        }
    }

    /// <summary>
    /// One attempt: the first node of the plan that accepts a connection runs the statement. Nodes that cannot be
    /// connected to, or whose handshake is garbage, are marked down and the next is tried (nothing was sent to them).
    /// A node whose connection fails while it runs the statement (broken, timed out, stalled) goes to the end of the
    /// plan of the retries of this call, so that they fail over to another node.
    /// </summary>
    private Task<ResultResponse> ExecuteOnceAsync(CqlStatement statement, byte[]? pagingState, CqlAttempts attempts, CancellationToken cancellationToken) =>
        RunOnFirstReachableAsync(connection => ExecuteOnConnectionAsync(connection, statement, pagingState, cancellationToken), attempts, cancellationToken, RoutingToken(statement));

    private async Task<ResultResponse> RunOnFirstReachableAsync(Func<CqlConnection, Task<ResultResponse>> run, CqlAttempts attempts, CancellationToken cancellationToken, long? routingToken = null)
    {
        List<string>? failures = null;
        Exception? lastError = null;
        foreach (var host in attempts.FailedLast(QueryPlan(routingToken)))
        {
            CqlConnection connection;
            try
            {
                connection = await host.GetConnectionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (CassandraException ex) when (ex is CassandraConnectionException or CassandraProtocolException)
            {
                if (host.MarkDown())
                {
                    Log.HostDown(_logger, ex, host.Endpoint);
                }

                (failures ??= []).Add($"{host.Endpoint}: {ex.Message}");
                lastError = ex;
                continue;
            }

            if (host.MarkUp())
            {
                Log.HostUp(_logger, host.Endpoint);
            }

            try
            {
                return await run(connection).ConfigureAwait(false);
            }
            catch (CassandraException ex)
            {
                attempts.Failed(host, ex);
                throw;
            }
        }

        throw new CassandraConnectionException(
            $"No Cassandra node could be reached ({string.Join("; ", failures ?? ["no contact points"])}).", lastError);
    }

    private async Task<ResultResponse> ExecuteOnConnectionAsync(CqlConnection connection, CqlStatement statement, byte[]? pagingState, CancellationToken cancellationToken)
    {
        var timeout = statement.Timeout ?? _settings.RequestTimeout;
        CqlResponse response;
        if (!statement.Prepare)
        {
            var parameters = Parameters(statement, pagingState, skipMetadata: false);
            response = await connection.SendAsync(new QueryRequest(statement.Cql, parameters), null, timeout, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var prepared = _prepared.TryGetValue(statement.Cql, out var cached)
                ? cached
                : await PrepareAsync(connection, statement.Cql, timeout, cancellationToken).ConfigureAwait(false);
            var parameters = Parameters(statement, pagingState, skipMetadata: prepared.ResultMetadata.Columns.Count > 0);
            try
            {
                response = await connection.SendAsync(new ExecuteRequest(prepared.Id, parameters), prepared.ResultMetadata, timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (CassandraUnpreparedException)
            {
                // The node restarted, or never saw this statement: prepare it there and run it again, once.
                Log.Reprepared(_logger, connection.Endpoint);
                prepared = await PrepareAsync(connection, statement.Cql, timeout, cancellationToken).ConfigureAwait(false);
                parameters = Parameters(statement, pagingState, skipMetadata: prepared.ResultMetadata.Columns.Count > 0);
                response = await connection.SendAsync(new ExecuteRequest(prepared.Id, parameters), prepared.ResultMetadata, timeout, cancellationToken).ConfigureAwait(false);
            }
        }

        return response as ResultResponse
            ?? throw new CassandraProtocolException($"{connection.Endpoint} answered a statement with {response.GetType().Name}.");
    }

    private async Task<ResultResponse> ExecuteBatchOnConnectionAsync(CqlConnection connection, IReadOnlyList<CqlStatement> statements, CqlBatchType type, CancellationToken cancellationToken)
    {
        var first = statements[0];
        var timeout = first.Timeout ?? _settings.RequestTimeout;
        for (var attempt = 0; ; attempt++)
        {
            var entries = new List<CqlBatchEntry>(statements.Count);
            foreach (var statement in statements)
            {
                var prepared = attempt == 0 && _prepared.TryGetValue(statement.Cql, out var cached)
                    ? cached
                    : await PrepareAsync(connection, statement.Cql, timeout, cancellationToken).ConfigureAwait(false);
                entries.Add(new CqlBatchEntry(null, prepared.Id, statement.Values));
            }

            try
            {
                var request = new BatchRequest(type, entries, first.Consistency, first.SerialConsistency, first.Timestamp);
                var response = await connection.SendAsync(request, null, timeout, cancellationToken).ConfigureAwait(false);
                return response as ResultResponse
                    ?? throw new CassandraProtocolException($"{connection.Endpoint} answered a BATCH with {response.GetType().Name}.");
            }
            catch (CassandraUnpreparedException) when (attempt == 0)
            {
                Log.Reprepared(_logger, connection.Endpoint);
            }
        }
    }

    private async Task<PreparedResult> PrepareAsync(CqlConnection connection, string cql, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var response = await connection.SendAsync(new PrepareRequest(cql), null, timeout, cancellationToken).ConfigureAwait(false);
        var prepared = response as PreparedResult
            ?? throw new CassandraProtocolException($"{connection.Endpoint} answered PREPARE with {response.GetType().Name}.");
        _prepared[cql] = prepared;
        return prepared;
    }

    private static CqlQueryParameters Parameters(CqlStatement statement, byte[]? pagingState, bool skipMetadata) => new(
        statement.Consistency,
        statement.Values,
        skipMetadata,
        statement.PageSize,
        pagingState,
        statement.SerialConsistency,
        statement.Timestamp);

    /// <summary>
    /// The Murmur3 token of a prepared statement's partition key, when the statement was prepared before (its
    /// partition key indexes are known) and every partition key value is bound; otherwise null.
    /// </summary>
    private long? RoutingToken(CqlStatement statement)
    {
        if (!statement.Prepare || !_prepared.TryGetValue(statement.Cql, out var prepared) || prepared.PartitionKeyIndexes.Count == 0)
        {
            return null;
        }

        var components = new List<byte[]>(prepared.PartitionKeyIndexes.Count);
        foreach (var index in prepared.PartitionKeyIndexes)
        {
            if (index >= statement.Values.Count || statement.Values[index] is null or CqlUnset)
            {
                return null;
            }

            var buffer = new CqlWriteBuffer(32);
            CqlValueWriter.WriteValue(buffer, statement.Values[index]);
            components.Add(buffer.WrittenSpan[4..].ToArray());
        }

        return Murmur3Token.Compute(Murmur3Token.RoutingKey(components));
    }

    /// <summary>The node owning a token: the first ring token at or after it, wrapping around.</summary>
    private CqlHost? Owner(long token)
    {
        var ring = Volatile.Read(ref _ring);
        if (ring.Length == 0)
        {
            return null;
        }

        int low = 0, high = ring.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (ring[middle].Token < token)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return ring[low == ring.Length ? 0 : low].Host;
    }

    private void RebuildRing()
    {
        var ring = _hosts
            .Where(h => h.Tokens is not null)
            .SelectMany(h => h.Tokens!.Select(t => (Token: t, Host: h)))
            .OrderBy(entry => entry.Token)
            .ToArray();
        Volatile.Write(ref _ring, ring);
    }

    /// <summary>
    /// The nodes to try: the token's owner first when known and available (token-aware routing), then the others in
    /// round-robin order starting one further each call, available ones first, then those still down.
    /// </summary>
    private IEnumerable<CqlHost> QueryPlan(long? routingToken)
    {
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)_hosts.Length);
        var now = _settings.TimeProvider.GetUtcNow().UtcTicks;
        var owner = routingToken is { } token ? Owner(token) : null;
        var ownerFirst = owner is not null && owner.IsAvailable(now);
        if (ownerFirst)
        {
            yield return owner!;
        }

        List<CqlHost>? later = null;
        for (var i = 0; i < _hosts.Length; i++)
        {
            var host = _hosts[(start + i) % _hosts.Length];
            if (ownerFirst && host == owner)
            {
                continue;
            }

            if (host.IsAvailable(now))
            {
                yield return host;
            }
            else
            {
                (later ??= []).Add(host);
            }
        }

        // When every node is down, try them anyway, soonest due first, rather than fail without trying.
        if (later is not null)
        {
            foreach (var host in later.OrderBy(h => h.DownUntil))
            {
                yield return host;
            }
        }
    }

    /// <summary>Reads "host", "host:port", "v6 address" or "[v6 address]:port"; null when it is none of them.</summary>
    internal static (string Host, int Port)? TryParseContactPoint(string? point, int defaultPort)
    {
        var host = point?.Trim() ?? string.Empty;
        var port = defaultPort;
        var colon = host.LastIndexOf(':');
        if ((colon > 0 && host.IndexOf(':') == colon) || (host.StartsWith('[') && host.Contains("]:", StringComparison.Ordinal)))
        {
            if (!int.TryParse(host.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                return null;
            }

            host = host[..colon];
        }

        host = host.Trim('[', ']');
        return host.Length == 0 ? null : (host, port);
    }
}
