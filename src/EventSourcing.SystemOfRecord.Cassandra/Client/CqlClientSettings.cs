using System.Net.Security;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>What the client needs to reach and use a cluster; built from the store options.</summary>
internal sealed record CqlClientSettings
{
    // The one piece of state: the client's connections share their settings, so this makes a warning once per client.
    private int _plainTextCredentialsSeen;

    public required IReadOnlyList<string> ContactPoints { get; init; }

    /// <summary>Where the client counts retries, down nodes and speculative reads.</summary>
    public CassandraInstruments Instruments { get; init; } = CassandraInstruments.Shared;

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

    /// <summary>The largest response frame body accepted; a larger one fails its request for good and closes the connection.</summary>
    public int MaxFrameBodyBytes { get; init; } = Protocol.CqlFrameHeader.MaxBodyLength;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>True the first time only: credentials about to go over a connection without TLS are warned about once.</summary>
    public bool FirstPlainTextCredentials() => Interlocked.Exchange(ref _plainTextCredentialsSeen, 1) == 0;
}
