namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlCluster
{
    private readonly object _startGate = new();
    private Task? _started;

    /// <summary>The control connection (tests watch where it is).</summary>
    internal CqlControlConnection Control => _control;

    /// <summary>The known nodes and ring (tests watch what discovery learned).</summary>
    internal CqlTopology Topology => _topology;

    /// <summary>The data center whose nodes coordinate requests, once the cluster was discovered.</summary>
    public string? LocalDataCenter => _balancer.LocalDataCenter;

    /// <summary>
    /// Discovers the cluster on first use: the control connection reads the ring from the first contact point that
    /// answers, then the local data center is settled. A failed start is tried again by the next call.
    /// </summary>
    private Task EnsureStartedAsync(CancellationToken cancellationToken)
    {
        var started = Volatile.Read(ref _started);
        if (started is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        lock (_startGate)
        {
            if (_started is null || _started.IsFaulted || _started.IsCanceled)
            {
                // Without the caller's token: one caller giving up must not fail the others waiting on the same start.
                _started = StartAsync();
            }

            started = _started;
        }

        return started.WaitAsync(cancellationToken);
    }

    private async Task StartAsync()
    {
        await _control.StartAsync(CancellationToken.None).ConfigureAwait(false);
        _balancer.LocalDataCenter = ChooseLocalDataCenter(_settings.LocalDataCenter, _topology.DataCenters);
    }

    /// <summary>
    /// The configured data center, which must be one the cluster has; else the cluster's only one. Several data centers
    /// and none configured is refused: round-robin over them would let a LOCAL_QUORUM write be acknowledged by a
    /// quorum in a remote data center only.
    /// </summary>
    internal static string? ChooseLocalDataCenter(string? configured, IReadOnlyList<string> seen)
    {
        if (configured is not null)
        {
            return seen.Count == 0 || seen.Contains(configured, StringComparer.Ordinal)
                ? configured
                : throw new InvalidOperationException(
                    $"CassandraStoreOptions.LocalDataCenter is '{configured}', but the cluster's nodes are in data center(s) {string.Join(", ", seen.Select(dc => $"'{dc}'"))}.");
        }

        return seen.Count switch
        {
            0 => null,
            1 => seen[0],
            _ => throw new InvalidOperationException(
                $"The Cassandra cluster spans data centers {string.Join(", ", seen.Select(dc => $"'{dc}'"))}: set CassandraStoreOptions.LocalDataCenter to the one this application runs in."),
        };
    }

    private string NoNodeReason() => _topology.Hosts.Count == 0
        ? "no node is known"
        : $"no node of data center '{_balancer.LocalDataCenter}' is known, and the consistency level or CassandraStoreOptions.AllowRemoteDataCenters keeps requests in it";
}
