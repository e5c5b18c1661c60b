namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>
/// The CQL the store runs, built once from identifiers that <see cref="CassandraStoreOptionsValidator"/> has already
/// checked (no value is ever spliced into CQL text; values are bound).
/// </summary>
internal sealed class CassandraStatements
{
    /// <summary>The text columns added after the first release (RecordedEvent's type, content type, instance and trace context).</summary>
    public static readonly IReadOnlyList<string> AddedEventColumns = ["type", "content_type", "instance", "traceparent", "tracestate"];

    private readonly string _keyspace;
    private readonly string _table;

    public CassandraStatements(string keyspace, string table, int shardCount)
    {
        if (!CassandraStoreOptionsValidator.IsIdentifier(keyspace, 48) || !CassandraStoreOptionsValidator.IsIdentifier(table, CassandraStoreOptionsValidator.MaxTableLength))
        {
            throw new ArgumentException("The keyspace and table must be CQL identifiers.");
        }

        _keyspace = keyspace;
        _table = table;
        Sharded = shardCount > 1;
        var events = $"{keyspace}.{table}";
        var index = $"{keyspace}.{table}_bucket_index";
        var metadata = $"{keyspace}.{table}_metadata";
        var checkpoints = $"{keyspace}.{table}_checkpoints";
        var partition = Sharded ? "time_bucket, shard" : "time_bucket";

        var added = string.Join(", ", AddedEventColumns);
        CreateEvents = $"CREATE TABLE IF NOT EXISTS {events} (time_bucket timestamp, {(Sharded ? "shard int, " : string.Empty)}event_id timeuuid, "
            + $"ts timestamp, message text, topic text, key text, headers map<text, text>, {string.Join(", ", AddedEventColumns.Select(c => c + " text"))}, "
            + $"PRIMARY KEY (({partition}), event_id)) WITH CLUSTERING ORDER BY (event_id ASC)";
        AddEventColumn = AddedEventColumns.ToDictionary(c => c, c => $"ALTER TABLE {events} ADD {c} text", StringComparer.Ordinal);
        SelectEventColumns = "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?";
        CreateIndex = $"CREATE TABLE IF NOT EXISTS {index} (day timestamp, time_bucket timestamp, PRIMARY KEY ((day), time_bucket)) "
            + "WITH CLUSTERING ORDER BY (time_bucket ASC)";
        CreateMetadata = $"CREATE TABLE IF NOT EXISTS {metadata} (name text PRIMARY KEY, bucket_increment_ms bigint, shard_count int)";
        CreateCheckpoints = $"CREATE TABLE IF NOT EXISTS {checkpoints} (name text PRIMARY KEY, value text)";
        SelectCheckpoint = $"SELECT value FROM {checkpoints} WHERE name = ?";
        InsertCheckpoint = $"INSERT INTO {checkpoints} (name, value) VALUES (?, ?)";
        InsertCheckpointIfAbsent = $"INSERT INTO {checkpoints} (name, value) VALUES (?, ?) IF NOT EXISTS";
        UpdateCheckpointIf = $"UPDATE {checkpoints} SET value = ? WHERE name = ? IF value = ?";
        DeleteCheckpointIf = $"DELETE FROM {checkpoints} WHERE name = ? IF value = ?";
        DeleteCheckpoint = $"DELETE FROM {checkpoints} WHERE name = ?";
        SelectCheckpoints = $"SELECT name, value FROM {checkpoints}";
        InsertEvent = $"INSERT INTO {events} (time_bucket, {(Sharded ? "shard, " : string.Empty)}event_id, ts, message, topic, key, headers, {added}) "
            + $"VALUES (?, {(Sharded ? "?, " : string.Empty)}?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        InsertIndex = $"INSERT INTO {index} (day, time_bucket) VALUES (?, ?)";
        InsertMetadata = $"INSERT INTO {metadata} (name, bucket_increment_ms, shard_count) VALUES (?, ?, ?) IF NOT EXISTS";
        SelectMetadata = $"SELECT bucket_increment_ms, shard_count FROM {metadata} WHERE name = ?";
        SelectBucket = $"SELECT event_id, topic, key, message, headers, {added} FROM {events} WHERE time_bucket = ?{(Sharded ? " AND shard = ?" : string.Empty)}";
        SelectIndex = $"SELECT time_bucket FROM {index} WHERE day = ? AND time_bucket >= ? AND time_bucket < ?";
    }

    public bool Sharded { get; }

    public string CreateEvents { get; }

    public string CreateIndex { get; }

    public string CreateMetadata { get; }

    public string CreateCheckpoints { get; }

    public string SelectCheckpoint { get; }

    public string InsertCheckpoint { get; }

    public string InsertCheckpointIfAbsent { get; }

    public string UpdateCheckpointIf { get; }

    public string DeleteCheckpointIf { get; }

    public string DeleteCheckpoint { get; }

    public string SelectCheckpoints { get; }

    /// <summary>ALTER TABLE ... ADD for each of <see cref="AddedEventColumns"/>, for events tables created before them.</summary>
    public IReadOnlyDictionary<string, string> AddEventColumn { get; }

    /// <summary>The columns of a table, from system_schema (keyspace and table names bound).</summary>
    public string SelectEventColumns { get; }

    /// <summary>The keyspace and the events table, as system_schema names them (unquoted identifiers are lower case).</summary>
    public (string Keyspace, string Table) SchemaNames => (_keyspace.ToLowerInvariant(), _table.ToLowerInvariant());

    public string InsertEvent { get; }

    public string InsertIndex { get; }

    public string InsertMetadata { get; }

    public string SelectMetadata { get; }

    public string SelectBucket { get; }

    public string SelectIndex { get; }

    /// <summary>The schema statements, keyspace first; replication keys and values are validated before.</summary>
    public IEnumerable<string> Schema(IDictionary<string, string> replication)
    {
        yield return CreateKeyspace(_keyspace, replication);
        yield return CreateEvents;
        yield return CreateIndex;
        yield return CreateMetadata;
        yield return CreateCheckpoints;
    }

    /// <summary>CREATE KEYSPACE IF NOT EXISTS with the replication map; both validated by <see cref="CassandraStoreOptionsValidator"/> before.</summary>
    public static string CreateKeyspace(string keyspace, IDictionary<string, string> replication)
    {
        var map = string.Join(", ", replication.Select(pair => $"'{pair.Key}': '{pair.Value}'"));
        return $"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {{{map}}}";
    }
}
