using System.Globalization;
using System.Net;
using System.Runtime.ExceptionServices;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// One connection, apart from the request connections, that keeps <see cref="CqlTopology"/> in step with the cluster:
/// it reads <c>system.local</c>, <c>system.peers_v2</c> (or <c>system.peers</c> before Cassandra 4) and
/// <c>system_schema.keyspaces</c>, REGISTERs for TOPOLOGY_CHANGE, STATUS_CHANGE and SCHEMA_CHANGE, marks nodes
/// down and up the moment the cluster says so, and reads the ring again on topology and keyspace changes and every
/// <see cref="CqlClientSettings.TopologyRefreshInterval"/>. When its node fails, it moves to another, local data center
/// first, with a delay that doubles per failed round up to <see cref="CqlClientSettings.MaxReconnectDelay"/>.
/// </summary>
internal sealed partial class CqlControlConnection : IAsyncDisposable
{
    private const string SelectLocal = "SELECT host_id, data_center, rack, rpc_address, tokens FROM system.local WHERE key='local'";
    private const string SelectPeersV2 = "SELECT peer, native_address, native_port, host_id, data_center, rack, tokens FROM system.peers_v2";
    private const string SelectPeers = "SELECT peer, rpc_address, host_id, data_center, rack, tokens FROM system.peers";
    private const string SelectKeyspaces = "SELECT keyspace_name, replication FROM system_schema.keyspaces";

    private static readonly string[] EventTypes = [EventResponse.TopologyChange, EventResponse.StatusChange, EventResponse.SchemaChange];

    private readonly CqlClientSettings _settings;
    private readonly CqlTopology _topology;
    private readonly Func<CqlHost, bool> _isLocal;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private CqlConnection? _connection;
    private Task? _loop;
    private bool _peersV2 = true;
    private int _disposed;

    /// <param name="settings">The client settings.</param>
    /// <param name="topology">The nodes it keeps in step.</param>
    /// <param name="isLocal">Whether a node is in the local data center (preferred when the connection moves).</param>
    /// <param name="logger">The logger.</param>
    public CqlControlConnection(CqlClientSettings settings, CqlTopology topology, Func<CqlHost, bool> isLocal, ILogger logger)
    {
        _settings = settings;
        _topology = topology;
        _isLocal = isLocal;
        _logger = logger;
    }

    /// <summary>The node the control connection is on; null while it has none.</summary>
    public CqlHost? Host { get; private set; }

    /// <summary>
    /// Connects to the first known node that answers (the contact points, in order), registers for events and reads the
    /// ring; from then on follows the cluster in the background. Throws, naming every node tried, when none answers.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_connection is { IsBroken: false })
        {
            return;
        }

        await ConnectAsync(_topology.Hosts, cancellationToken).ConfigureAwait(false);
        _loop ??= Task.Run(RunAsync, CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        if (Interlocked.Exchange(ref _connection, null) is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    /// <summary>Reconnects when the connection broke, then waits for an event or the refresh interval, and reads the ring.</summary>
    private async Task RunAsync()
    {
        var failedRounds = 0;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (_connection is null or { IsBroken: true })
                {
                    await ConnectAsync(ReconnectOrder(), _stop.Token).ConfigureAwait(false);
                    failedRounds = 0;
                }

                await WaitForWorkAsync().ConfigureAwait(false);
                if (_connection is { IsBroken: false } connection && Host is { } host)
                {
                    await RefreshAsync(connection, host, _stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (CassandraException ex)
            {
                failedRounds++;
                var delay = TimeSpan.FromTicks((long)Math.Min(_settings.MaxReconnectDelay.Ticks, _settings.ReconnectDelay.Ticks * Math.Pow(2, Math.Min(failedRounds - 1, 16))));
                Log.ControlFailed(_logger, ex, delay);
                try
                {
                    await Task.Delay(delay, _settings.TimeProvider, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Returns when an event or a broken connection asks for work, or the refresh interval passed.</summary>
    private async Task WaitForWorkAsync()
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var woken = _wake.WaitAsync(wait.Token);
        var interval = Task.Delay(_settings.TopologyRefreshInterval, _settings.TimeProvider, wait.Token);
        await Task.WhenAny(woken, interval).ConfigureAwait(false);
        await wait.CancelAsync().ConfigureAwait(false);
        _ = woken.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _stop.Token.ThrowIfCancellationRequested();
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already asked.
            }
        }
    }

    /// <summary>Local nodes that are up first, then the other local ones, then the rest; the node that just failed last.</summary>
    private List<CqlHost> ReconnectOrder()
    {
        var now = _settings.TimeProvider.GetUtcNow().UtcTicks;
        var failed = Host;
        return _topology.Hosts
            .OrderBy(h => h == failed ? 1 : 0)
            .ThenBy(h => _isLocal(h) ? 0 : 1)
            .ThenBy(h => h.IsAvailable(now) ? 0 : 1)
            .ToList();
    }

    /// <summary>Connects to the first candidate that answers, unless a working connection exists (start and the loop may race).</summary>
    private async Task ConnectAsync(IReadOnlyList<CqlHost> candidates, CancellationToken cancellationToken)
    {
        await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is not { IsBroken: false })
            {
                await ConnectFirstAsync(candidates, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _connecting.Release();
        }
    }

    private async Task ConnectFirstAsync(IReadOnlyList<CqlHost> candidates, CancellationToken cancellationToken)
    {
        List<string>? failures = null;
        Exception? lastError = null;
        foreach (var host in candidates)
        {
            CqlConnection? connection = null;
            try
            {
                connection = await CqlConnection.OpenAsync(host.Address, host.Port, _settings, _logger, cancellationToken).ConfigureAwait(false);
                connection.EventReceived += OnEvent;
                connection.Broken += OnBroken;

                // Registered before the ring is read, so no change between the two goes unseen.
                await connection.RegisterAsync(EventTypes, _settings.ConnectTimeout, cancellationToken).ConfigureAwait(false);
                Host = host;
                if (Interlocked.Exchange(ref _connection, connection) is { } previous)
                {
                    await previous.DisposeAsync().ConfigureAwait(false);
                }

                await RefreshAsync(connection, host, cancellationToken).ConfigureAwait(false);
                Log.ControlConnected(_logger, host.Endpoint, connection.IsCompressed);
                return;
            }
            catch (CassandraException ex)
            {
                if (connection is not null)
                {
                    Interlocked.CompareExchange(ref _connection, null, connection);
                    await connection.DisposeAsync().ConfigureAwait(false);
                }

                if (ex is CassandraConnectionException && host.MarkDown())
                {
                    Log.NodeUnreachable(_logger, ex, host.Endpoint);
                }

                (failures ??= []).Add($"{host.Endpoint}: {ex.Message}");
                lastError = ex;
            }
        }

        // Wrong credentials are not a node being away: retrying or reporting them as unreachable would hide the cause.
        if (lastError is CassandraAuthenticationException)
        {
            ExceptionDispatchInfo.Throw(lastError);
        }

        throw new CassandraConnectionException(
            $"No Cassandra node could be reached ({string.Join("; ", failures ?? ["no contact points"])}).", lastError);
    }

    private void OnBroken(CqlConnection connection, Exception reason)
    {
        if (ReferenceEquals(Volatile.Read(ref _connection), connection))
        {
            Log.ControlLost(_logger, connection.Endpoint);
            Wake();
        }
    }

    /// <summary>Runs on the connection's read loop: marks nodes at once, and leaves ring reads to the background loop.</summary>
    private void OnEvent(EventResponse pushed)
    {
        var host = pushed.Node is { } endpoint ? _topology.Find(endpoint) : null;
        switch (pushed.EventType, pushed.Change)
        {
            case (EventResponse.StatusChange, "UP"):
                if (host is null)
                {
                    Wake();
                }
                else if (host.MarkUp())
                {
                    Log.NodeAnnouncedUp(_logger, host.Endpoint);
                }

                break;
            case (EventResponse.StatusChange, "DOWN"):
                if (host is not null && host.MarkDown())
                {
                    Log.NodeAnnouncedDown(_logger, host.Endpoint);
                }

                break;
            case (EventResponse.TopologyChange, _):
                if (pushed.Change == "REMOVED_NODE" && host is not null)
                {
                    host.MarkDown();
                }

                Log.TopologyChanged(_logger, pushed.Change, pushed.Node?.ToString() ?? "?");
                Wake();
                break;
            case (EventResponse.SchemaChange, _) when pushed.Target == "KEYSPACE":
                Wake();
                break;
        }
    }

    /// <summary>Reads the ring from <paramref name="host"/> and makes it the known topology; nodes gone are closed.</summary>
    private async Task RefreshAsync(CqlConnection connection, CqlHost host, CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var localRows = await QueryAsync(connection, SelectLocal, cancellationToken).ConfigureAwait(false);
            if (localRows.Count == 0)
            {
                throw new CassandraProtocolException($"{connection.Endpoint} has no row in system.local.");
            }

            var connectedTo = connection.RemoteEndPoint?.Address ?? (IPAddress.TryParse(host.Address, out var parsed) ? parsed : IPAddress.None);
            var local = Describe(localRows[0], "rpc_address", null, new IPEndPoint(connectedTo, host.Port))
                ?? throw new CassandraProtocolException($"{connection.Endpoint} described itself in system.local without host id, data center or rack.");

            var peers = new List<CqlNodeInfo>();
            foreach (var row in await ReadPeersAsync(connection, cancellationToken).ConfigureAwait(false))
            {
                if (Describe(row, _peersV2 ? "native_address" : "rpc_address", _peersV2 ? "native_port" : null, new IPEndPoint(IPAddress.None, host.Port)) is { } peer)
                {
                    peers.Add(peer);
                }
                else
                {
                    Log.InvalidPeer(_logger, connection.Endpoint);
                }
            }

            var keyspaces = await ReadKeyspacesAsync(connection, cancellationToken).ConfigureAwait(false);
            var before = _topology.Hosts;
            var removed = _topology.Apply(host, local, peers, keyspaces);
            foreach (var added in _topology.Hosts.Except(before))
            {
                Log.NodeAdded(_logger, added.Endpoint, added.DataCenter ?? "?", added.Node?.Rack ?? "?");
            }

            foreach (var gone in removed)
            {
                Log.NodeRemoved(_logger, gone.Endpoint);
                _ = CloseAsync(gone);
            }
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <summary>Closes a node that left the ring, in the background; a failure to close is logged, never thrown.</summary>
    private async Task CloseAsync(CqlHost host)
    {
        try
        {
            await host.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.CloseFailed(_logger, ex, host.Endpoint);
        }
    }

    private async Task<IReadOnlyList<CqlRow>> ReadPeersAsync(CqlConnection connection, CancellationToken cancellationToken)
    {
        if (_peersV2)
        {
            try
            {
                return await QueryAsync(connection, SelectPeersV2, cancellationToken).ConfigureAwait(false);
            }
            catch (CassandraInvalidQueryException)
            {
                // Before Cassandra 4.0 there is no system.peers_v2 (and every node listens on the same port).
                _peersV2 = false;
            }
        }

        return await QueryAsync(connection, SelectPeers, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Dictionary<string, CqlReplication>> ReadKeyspacesAsync(CqlConnection connection, CancellationToken cancellationToken)
    {
        var keyspaces = new Dictionary<string, CqlReplication>(StringComparer.Ordinal);
        try
        {
            foreach (var row in await QueryAsync(connection, SelectKeyspaces, cancellationToken).ConfigureAwait(false))
            {
                if (row["keyspace_name"] is string name && row["replication"] is Dictionary<object, object?> map)
                {
                    var replication = map.Where(p => p.Value is string).ToDictionary(p => (string)p.Key, p => (string)p.Value!, StringComparer.Ordinal);
                    keyspaces[name] = CqlReplication.Parse(replication);
                }
            }
        }
        catch (CassandraInvalidQueryException)
        {
            // No system_schema (before Cassandra 3.0): requests are routed to the first replica of each token only.
        }

        return keyspaces;
    }

    private async Task<IReadOnlyList<CqlRow>> QueryAsync(CqlConnection connection, string cql, CancellationToken cancellationToken)
    {
        var response = await connection.SendAsync(new QueryRequest(cql, new CqlQueryParameters(CassandraConsistency.One)), null, _settings.RequestTimeout, cancellationToken).ConfigureAwait(false);
        return response is RowsResult rows
            ? rows.Rows
            : throw new CassandraProtocolException($"{connection.Endpoint} answered '{cql}' with {response.GetType().Name}.");
    }

    /// <summary>
    /// A node from a system.local or system.peers(_v2) row; null when it lacks a host id, data center, rack or address
    /// (a node still joining, or a stale row). The address is the native (rpc) one, else the peer's; the port is the
    /// row's native port, else <paramref name="fallback"/>'s.
    /// </summary>
    private static CqlNodeInfo? Describe(CqlRow row, string addressColumn, string? portColumn, IPEndPoint fallback)
    {
        if (row["host_id"] is not Guid hostId || row["data_center"] is not string dataCenter || row["rack"] is not string rack)
        {
            return null;
        }

        var address = row[addressColumn] as IPAddress;
        if (address is null || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            address = row.Columns.Any(c => c.Name == "peer") ? row["peer"] as IPAddress : fallback.Address;
        }

        if (address is null || address.Equals(IPAddress.None))
        {
            return null;
        }

        var port = portColumn is not null && row[portColumn] is int native and > 0 and <= IPEndPoint.MaxPort ? native : fallback.Port;
        return new CqlNodeInfo(hostId, new IPEndPoint(address, port), dataCenter, rack, Tokens(row["tokens"]));
    }

    /// <summary>Murmur3 tokens; none when the partitioner is another (its tokens are not 64-bit integers).</summary>
    private static long[] Tokens(object? column)
    {
        if (column is not List<object?> items)
        {
            return [];
        }

        var tokens = new long[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not string text || !long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out tokens[i]))
            {
                return [];
            }
        }

        return tokens;
    }
}
