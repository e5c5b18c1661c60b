namespace EventSourcing.SystemOfRecord.Cli.Stores;

/// <summary>Which store to open: a SQLite file, or a Cassandra keyspace. A class, not a record: no generated ToString prints the password.</summary>
internal sealed class StoreSettings
{
    public string? SqlitePath { get; init; }

    public IReadOnlyList<string> CassandraContactPoints { get; init; } = [];

    public string Keyspace { get; init; } = string.Empty;

    public string? Table { get; init; }

    public int Shards { get; init; } = 1;

    public string? UserName { get; init; }

    public string? Password { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The store in words, for messages: never the password.</summary>
    public string Describe() => SqlitePath is not null
        ? $"the SQLite file {SqlitePath}"
        : $"Cassandra {Keyspace}.{Table ?? "events"} at {string.Join(',', CassandraContactPoints)}";
}
