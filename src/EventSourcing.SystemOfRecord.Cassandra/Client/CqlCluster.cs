using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// The client's entry point: the nodes discovered from the contact points and followed by a control connection
/// (<see cref="CqlControlConnection"/>), query plans that keep to the local data center and start at the partition's
/// replicas (<see cref="CqlLoadBalancer"/>) with failover along the plan, optional speculative reads, a
/// prepared-statement cache with re-prepare on UNPREPARED, paging, and a Polly pipeline that retries transient errors
/// of idempotent statements.
/// </summary>
internal sealed partial class CqlCluster : IAsyncDisposable
{
    private readonly CqlClientSettings _settings;
    private readonly ILogger _logger;
    private readonly CqlTopology _topology;
    private readonly CqlLoadBalancer _balancer;
    private readonly CqlControlConnection _control;
    private readonly ConcurrentDictionary<string, PreparedResult> _prepared = new(StringComparer.Ordinal);
    private readonly ResiliencePipeline _retry;
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
        var contactPoints = settings.ContactPoints.Select(point =>
        {
            var (address, port) = TryParseContactPoint(point, settings.Port) ?? throw new ArgumentException($"'{point}' is not a contact point (host or host:port).", nameof(settings));
            return new CqlHost(address, port, settings, logger);
        }).ToArray();
        _topology = new CqlTopology(contactPoints, settings, logger);
        _balancer = new CqlLoadBalancer(settings);
        _control = new CqlControlConnection(settings, _topology, _balancer.IsInLocalDataCenter, logger);

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
                    _settings.Instruments.Retries.Add(1);
                    Log.Retrying(_logger, args.Outcome.Exception, args.AttemptNumber + 1, args.RetryDelay);
                    return default;
                },
            })
            .Build();
    }

    /// <summary>The known nodes: the contact points until discovery, then the whole ring.</summary>
    public IReadOnlyList<CqlHost> Hosts => _topology.Hosts;

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
            await ExecuteBatchOnceAsync(statements, type, attempts, cancellationToken).ConfigureAwait(false);
            return;
        }

        await _retry.ExecuteAsync(
            async token => await ExecuteBatchOnceAsync(statements, type, attempts, token).ConfigureAwait(false),
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

        await _control.DisposeAsync().ConfigureAwait(false);

        // Best effort: one host that fails to close must not keep the others open.
        foreach (var host in _topology.Hosts)
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
    /// One attempt: the first node of the plan that accepts a connection runs the statement (an idempotent read may
    /// also go to the next one, see <see cref="RunSpeculativelyAsync"/>). Nodes that cannot be connected to, or whose
    /// handshake is garbage, are marked down and the next is tried (nothing was sent to them). A node whose connection
    /// fails while it runs the statement (broken, timed out, stalled) goes to the end of the plan of the retries of
    /// this call, so that they fail over to another node.
    /// </summary>
    private async Task<ResultResponse> ExecuteOnceAsync(CqlStatement statement, byte[]? pagingState, CqlAttempts attempts, CancellationToken cancellationToken)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var plan = Plan(statement, attempts);
        Task<ResultResponse> Run(CqlConnection connection, CancellationToken token) => ExecuteOnConnectionAsync(connection, statement, pagingState, token);
        return SpeculationDelay(statement) is { } delay
            ? await RunSpeculativelyAsync(Run, plan, attempts, delay, cancellationToken).ConfigureAwait(false)
            : await RunOnFirstReachableAsync(Run, plan, attempts, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ResultResponse> ExecuteBatchOnceAsync(IReadOnlyList<CqlStatement> statements, CqlBatchType type, CqlAttempts attempts, CancellationToken cancellationToken)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        return await RunOnFirstReachableAsync((c, token) => ExecuteBatchOnConnectionAsync(c, statements, type, token), Plan(statements[0], attempts), attempts, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ResultResponse> RunOnFirstReachableAsync(Func<CqlConnection, CancellationToken, Task<ResultResponse>> run, CqlQueryPlan plan, CqlAttempts attempts, CancellationToken cancellationToken)
    {
        List<string>? failures = null;
        Exception? lastError = null;
        while (plan.TryNext(out var host))
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
                return await run(connection, cancellationToken).ConfigureAwait(false);
            }
            catch (CassandraException ex)
            {
                attempts.Failed(host, ex);
                throw;
            }
        }

        throw new CassandraConnectionException(
            $"No Cassandra node could be reached ({string.Join("; ", failures ?? [NoNodeReason()])}).", lastError);
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
    /// The nodes to try for a statement, its partition's replicas first when its routing is known, and the nodes that
    /// failed earlier attempts of the same call last.
    /// </summary>
    private CqlQueryPlan Plan(CqlStatement statement, CqlAttempts attempts)
    {
        var (keyspace, token) = Routing(statement);
        var plan = _balancer.Plan(_topology, keyspace, token, statement.Consistency, statement.SerialConsistency);
        return new CqlQueryPlan(attempts.FailedLast(plan.Hosts).ToList());
    }

    /// <summary>
    /// The keyspace and Murmur3 token of a prepared statement's partition key, when the statement was prepared before
    /// (its partition key indexes are known) and every partition key value is bound; otherwise nulls.
    /// </summary>
    private (string? Keyspace, long? Token) Routing(CqlStatement statement)
    {
        if (!statement.Prepare || !_prepared.TryGetValue(statement.Cql, out var prepared) || prepared.PartitionKeyIndexes.Count == 0)
        {
            return (null, null);
        }

        var components = new List<byte[]>(prepared.PartitionKeyIndexes.Count);
        foreach (var index in prepared.PartitionKeyIndexes)
        {
            if (index >= statement.Values.Count || statement.Values[index] is null or CqlUnset)
            {
                return (null, null);
            }

            var buffer = new CqlWriteBuffer(32);
            CqlValueWriter.WriteValue(buffer, statement.Values[index]);
            components.Add(buffer.WrittenSpan[4..].ToArray());
        }

        var keyspace = prepared.Variables.Count > 0 ? prepared.Variables[0].Keyspace : null;
        return (keyspace, Murmur3Token.Compute(Murmur3Token.RoutingKey(components)));
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
