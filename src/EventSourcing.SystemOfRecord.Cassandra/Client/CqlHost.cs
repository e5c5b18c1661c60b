using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// One node: its single multiplexed connection, opened on first use and re-opened after a break, and whether it is
/// down (left out of query plans until <see cref="DownUntil"/>, with a delay that doubles per failure).
/// </summary>
internal sealed class CqlHost(string address, int port, CqlClientSettings settings, ILogger logger) : IAsyncDisposable
{
    private readonly object _gate = new();
    private Task<CqlConnection>? _connection;
    private int _failures;
    private long _downUntilTicks;
    private bool _removed;

    public string Address { get; } = address;

    /// <summary>Where the node is in the ring (data center, rack, tokens, host id), from system.local / system.peers; null until discovered.</summary>
    public CqlNodeInfo? Node { get; private set; }

    /// <summary>The node's tokens on the Murmur3 ring; null until known.</summary>
    public long[]? Tokens => Node?.Tokens;

    public string? DataCenter => Node?.DataCenter;

    public int Port { get; } = port;

    public string Endpoint => $"{Address}:{Port}";

    public bool IsDown => Volatile.Read(ref _failures) > 0;

    /// <summary>When the node may be tried again (UTC ticks of the settings' clock).</summary>
    public long DownUntil => Volatile.Read(ref _downUntilTicks);

    /// <summary>Whether the node is up, or down but due for another try.</summary>
    public bool IsAvailable(long nowTicks) => !IsDown || nowTicks >= DownUntil;

    /// <summary>The open connection, opening one (shared by concurrent callers) when there is none or it broke.</summary>
    public Task<CqlConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_removed)
            {
                return Task.FromException<CqlConnection>(new CassandraConnectionException($"Cassandra node {Endpoint} left the cluster."));
            }

            var current = _connection;
            if (current is null || current.IsFaulted || current.IsCanceled || (current.IsCompletedSuccessfully && current.Result.IsBroken))
            {
                current = _connection = OpenAsync();
            }

            return current.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Takes the node out of query plans for a while; returns whether it was up until now.</summary>
    public bool MarkDown()
    {
        var failures = Interlocked.Increment(ref _failures);
        if (failures == 1)
        {
            settings.Instruments.NodesDown.Add(1);
        }

        var delay = settings.ReconnectDelay.Ticks * Math.Pow(2, Math.Min(failures - 1, 16));
        var capped = (long)Math.Min(delay, settings.MaxReconnectDelay.Ticks);
        Volatile.Write(ref _downUntilTicks, settings.TimeProvider.GetUtcNow().UtcTicks + capped);
        return failures == 1;
    }

    /// <summary>Puts the node back in query plans; returns whether it was down.</summary>
    public bool MarkUp() => Interlocked.Exchange(ref _failures, 0) > 0;

    /// <summary>Records what discovery read about the node.</summary>
    public void Describe(CqlNodeInfo node) => Node = node;

    public async ValueTask DisposeAsync()
    {
        Task<CqlConnection>? connection;
        lock (_gate)
        {
            _removed = true;
            connection = _connection;
            _connection = null;
        }

        if (connection is null)
        {
            return;
        }

        if (connection.IsCompletedSuccessfully)
        {
            await connection.Result.DisposeAsync().ConfigureAwait(false);
            return;
        }

        // Still opening: close it once it opens, without making disposal wait for the handshake.
        _ = connection.ContinueWith(
            static opened => opened.Result.DisposeAsync().AsTask(),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default).Unwrap();
    }

    private async Task<CqlConnection> OpenAsync()
    {
        // Opened without the caller's token: one caller giving up must not fail the others sharing the attempt.
        var connection = await CqlConnection.OpenAsync(Address, Port, settings, logger, CancellationToken.None).ConfigureAwait(false);
        // A frame over the size limit closes the connection, but says nothing against the node: it stays up.
        connection.Broken += (_, reason) =>
        {
            if (reason is not CassandraProtocolException { OversizedResponseBytes: not null })
            {
                MarkDown();
            }
        };
        return connection;
    }
}
