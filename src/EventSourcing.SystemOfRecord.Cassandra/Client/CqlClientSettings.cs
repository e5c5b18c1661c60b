using System.Net.Security;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>What the client needs to reach and use a cluster; built from the store options.</summary>
internal sealed record CqlClientSettings
{
    public required IReadOnlyList<string> ContactPoints { get; init; }

    public int Port { get; init; } = 9042;

    public string? UserName { get; init; }

    public string? Password { get; init; }

    public SslClientAuthenticationOptions? Tls { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(12);

    /// <summary>How long a node that failed stays out of the query plan at first; doubles per failure up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromMinutes(1);

    public int MaxRetries { get; init; } = 4;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan SchemaAgreementTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The data center whose nodes coordinate requests; null lets a single-DC cluster's one DC be it.</summary>
    public string? LocalDataCenter { get; init; }

    /// <summary>Whether requests not at a LOCAL_* consistency may go to other data centers when no local node answers.</summary>
    public bool AllowRemoteDataCenters { get; init; }

    public CassandraCompression Compression { get; init; }

    /// <summary>After this long without an answer, an idempotent read is also sent to the next node of its plan; null for never.</summary>
    public TimeSpan? SpeculativeExecutionDelay { get; init; }

    /// <summary>How often the control connection re-reads the ring, besides on server events.</summary>
    public TimeSpan TopologyRefreshInterval { get; init; } = TimeSpan.FromMinutes(1);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
