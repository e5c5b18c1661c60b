using System.Net.Security;

namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>Where and how the Cassandra store keeps the system of record.</summary>
public sealed class CassandraStoreOptions
{
    /// <summary>
    /// The nodes to connect to first, as <c>host</c> or <c>host:port</c>. The rest of the cluster is discovered from
    /// them (<c>system.peers</c>) and followed as it changes, so a few nodes of the local data center are enough.
    /// </summary>
    /// <value>The default is <c>127.0.0.1</c>.</value>
    public IList<string> ContactPoints { get; set; } = ["127.0.0.1"];

    /// <summary>The native protocol port of contact points that name none.</summary>
    /// <value>The default is 9042.</value>
    public int Port { get; set; } = 9042;

    /// <summary>The keyspace; a CQL identifier (a letter, then letters, digits or underscores, at most 48).</summary>
    /// <value>The default is <c>system_of_record</c>.</value>
    public string Keyspace { get; set; } = "system_of_record";

    /// <summary>
    /// The events table; a CQL identifier of at most 35 characters (the store adds <c>_metadata</c>, <c>_checkpoints</c> and
    /// <c>_bucket_index</c> tables beside it; <see cref="CassandraProcessedEventLog"/> uses <c>_processed</c>).
    /// </summary>
    /// <value>The default is <c>events</c>.</value>
    public string Table { get; set; } = "events";

    /// <summary>The user name for PasswordAuthenticator (SASL PLAIN), or <see langword="null"/> when the cluster needs none.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? UserName { get; set; }

    /// <summary>The password for PasswordAuthenticator. Never logged.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? Password { get; set; }

    /// <summary>
    /// TLS settings; <see langword="null"/> connects in plain text. <see cref="SslClientAuthenticationOptions.TargetHost"/>
    /// defaults to each contact point's host name.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public SslClientAuthenticationOptions? Tls { get; set; }

    /// <summary>
    /// The data center this application runs in: its nodes coordinate every request, and the partition's replicas
    /// there are tried first. Required when the cluster spans more than one data center (the store refuses to start
    /// otherwise, naming the data centers it saw); with one data center, that one is used.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? LocalDataCenter { get; set; }

    /// <summary>
    /// Whether a request may go to a node of another data center when no node of <see cref="LocalDataCenter"/> can be
    /// reached. Never for <see cref="CassandraConsistency.LocalOne"/>, <see cref="CassandraConsistency.LocalQuorum"/>
    /// or <see cref="CassandraConsistency.LocalSerial"/>: those count replicas in the coordinator's data center, so a
    /// remote coordinator would answer for the wrong one.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool AllowRemoteDataCenters { get; set; }

    /// <summary>Frame compression, used when the node offers it.</summary>
    /// <value>The default is <see cref="CassandraCompression.None"/>: on a fast network LZ4 costs appends more CPU than it saves time.</value>
    public CassandraCompression Compression { get; set; } = CassandraCompression.None;

    /// <summary>
    /// After this long without an answer, a read is also sent to the next node of its plan, and the first answer wins
    /// (every read of the store is idempotent). <see langword="null"/> turns speculative execution off.
    /// </summary>
    /// <value>The default is <see langword="null"/> (off).</value>
    public TimeSpan? SpeculativeExecutionDelay { get; set; }

    /// <summary>How often the ring (nodes, data centers, tokens, keyspace replication) is read again, besides on the server's events.</summary>
    /// <value>The default is 1 minute.</value>
    public TimeSpan TopologyRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The consistency level of every read and write.</summary>
    /// <value>The default is <see cref="CassandraConsistency.LocalQuorum"/>.</value>
    public CassandraConsistency Consistency { get; set; } = CassandraConsistency.LocalQuorum;

    /// <summary>The serial consistency of the conditional insert that records the store's settings.</summary>
    /// <value>The default is <see cref="CassandraConsistency.LocalSerial"/>.</value>
    public CassandraConsistency SerialConsistency { get; set; } = CassandraConsistency.LocalSerial;

    /// <summary>Whether the store creates the keyspace and tables when they do not exist.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool CreateSchema { get; set; } = true;

    /// <summary>
    /// The replication map of a keyspace the store creates, for example
    /// <c>{ ["class"] = "NetworkTopologyStrategy", ["dc1"] = "3" }</c>. Keys and values may hold letters, digits, '_', '.' and '-'.
    /// </summary>
    /// <value>The default is <c>SimpleStrategy</c> with a replication factor of 1 (fine for development only).</value>
    public IDictionary<string, string> Replication { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["class"] = "SimpleStrategy",
        ["replication_factor"] = "1",
    };

    /// <summary>
    /// How many partitions each bucket is spread over. 1 keeps a bucket in one partition; more spread the hot current
    /// bucket over several nodes, and a bucket read merges the shards in event id order. Fixed when the store is created.
    /// </summary>
    /// <value>The default is 1.</value>
    public int ShardCount { get; set; } = 1;

    /// <summary>The most rows fetched per page when a bucket is read; <see cref="MaxPageBytes"/> may ask for fewer.</summary>
    /// <value>The default is 5000.</value>
    public int PageSize { get; set; } = 5000;

    /// <summary>
    /// About how many bytes one page of a bucket read carries. Each page asks for as many rows (up to <see cref="PageSize"/>)
    /// as fit, judged by the largest event the read has seen; the first page of a bucket assumes events of 1 MiB. A page
    /// that still comes back over the native protocol's 256 MB frame limit is fetched again with fewer rows.
    /// </summary>
    /// <value>The default is 16 MiB. Between 64 KiB and 128 MiB.</value>
    public int MaxPageBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>A bucket read that returns more events than this is reported (a log warning and the <c>sor.cassandra.large_buckets</c> metric).</summary>
    /// <value>The default is 100 000, the seed's partition guidance.</value>
    public long LargeBucketThreshold { get; set; } = 100_000;

    /// <summary>How long to wait for a connection to a node, TLS and authentication included.</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long to wait for the answer to one request.</summary>
    /// <value>The default is 12 seconds.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(12);

    /// <summary>How often a statement that failed with a transient error is retried (every statement of the store is idempotent).</summary>
    /// <value>The default is 4.</value>
    public int MaxRetries { get; set; } = 4;

    /// <summary>The first retry delay; it doubles per retry, with jitter.</summary>
    /// <value>The default is 100 milliseconds.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The client settings these options describe; the store and the processed-event log both connect with them.</summary>
    internal Client.CqlClientSettings ToClientSettings(TimeProvider timeProvider, CassandraInstruments? instruments = null) => new()
    {
        Instruments = instruments ?? CassandraInstruments.Shared,
        ContactPoints = [.. ContactPoints],
        Port = Port,
        UserName = UserName,
        Password = Password,
        Tls = Tls,
        ConnectTimeout = ConnectTimeout,
        RequestTimeout = RequestTimeout,
        MaxRetries = MaxRetries,
        RetryDelay = RetryDelay,
        LocalDataCenter = LocalDataCenter,
        AllowRemoteDataCenters = AllowRemoteDataCenters,
        Compression = Compression,
        SpeculativeExecutionDelay = SpeculativeExecutionDelay,
        TopologyRefreshInterval = TopologyRefreshInterval,
        TimeProvider = timeProvider,
    };
}
