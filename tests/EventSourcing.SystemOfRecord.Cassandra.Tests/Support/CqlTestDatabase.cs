using System.Buffers.Binary;
using System.Text.RegularExpressions;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Support;

/// <summary>The in-memory data of the test server: keyspaces of tables, each a map of partitions of rows sorted by clustering key.</summary>
public sealed class CqlTestDatabase
{
    // An "unset" bound value (length -2), told apart by reference; not empty, since every empty array is one instance.
    internal static readonly byte[] Unset = new byte[1];

    private readonly object _schemaLock = new();
    private readonly HashSet<string> _keyspaces = new(StringComparer.Ordinal) { "system", "system_schema" };
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _replication = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CqlTestTable> _tables = new(StringComparer.Ordinal);

    /// <param name="ring">The nodes serving it; one node when null.</param>
    /// <param name="peersV2">Whether system.peers_v2 exists (Cassandra 4.0 and later); without it, only system.peers.</param>
    public CqlTestDatabase(CqlTestRing? ring = null, bool peersV2 = true)
    {
        Ring = ring ?? CqlTestRing.SingleNode();
        _tables["system.local"] = CqlTestTable.System("local", "key text, bootstrapped text, broadcast_address inet, cluster_name text, cql_version text, data_center text, host_id uuid, listen_address inet, native_protocol_version text, partitioner text, rack text, release_version text, rpc_address inet, schema_version uuid, tokens set<text>");
        _tables["system.peers"] = CqlTestTable.System("peers", "peer inet, data_center text, host_id uuid, preferred_ip inet, rack text, release_version text, rpc_address inet, schema_version uuid, tokens set<text>");
        if (peersV2)
        {
            _tables["system.peers_v2"] = CqlTestTable.System("peers_v2", "peer inet, peer_port int, data_center text, host_id uuid, native_address inet, native_port int, preferred_ip inet, preferred_port int, rack text, release_version text, schema_version uuid, tokens set<text>");
        }

        _tables["system_schema.keyspaces"] = CqlTestTable.System("keyspaces", "keyspace_name text, durable_writes boolean, replication map<text, text>", "system_schema");
        _tables["system_schema.columns"] = CqlTestTable.System("columns", "keyspace_name text, table_name text, column_name text, kind text, type text", "system_schema");
    }

    /// <summary>The rows of system_schema.columns for one table: its columns, as a driver reads them to learn a schema.</summary>
    internal List<Dictionary<string, byte[]?>> SchemaColumns(string keyspace, string table)
    {
        CqlTestTable? found;
        lock (_schemaLock)
        {
            if (!_tables.TryGetValue($"{keyspace}.{table}", out found))
            {
                return [];
            }
        }

        lock (found.Lock)
        {
            return found.Columns.Select(c => new Dictionary<string, byte[]?>
            {
                ["keyspace_name"] = System.Text.Encoding.UTF8.GetBytes(keyspace),
                ["table_name"] = System.Text.Encoding.UTF8.GetBytes(table),
                ["column_name"] = System.Text.Encoding.UTF8.GetBytes(c.Name),
                ["kind"] = System.Text.Encoding.UTF8.GetBytes(found.PartitionKey.Contains(c.Name) ? "partition_key" : c.Name == found.ClusteringKey ? "clustering" : "regular"),
                ["type"] = System.Text.Encoding.UTF8.GetBytes(c.Type.Code.ToString().ToLowerInvariant()),
            }).ToList();
        }
    }

    /// <summary>ALTER TABLE ... ADD: a new regular column, null in every existing row; an existing name is refused, as Cassandra does.</summary>
    internal void AddColumn(CqlTestStatement statement)
    {
        var table = Table(statement.Keyspace, statement.Table);
        var (name, type) = statement.AddedColumn!.Value;
        lock (_schemaLock)
        {
            lock (table.Lock)
            {
                if (table.Columns.Any(c => c.Name == name))
                {
                    throw new CqlTestError(0x2200, $"Invalid column name {name} because it conflicts with an existing column");
                }

                table.Columns.Add((name, type));
            }

            SchemaVersion = Guid.NewGuid();
        }
    }

    /// <summary>Raised after a keyspace or table is created: (change, target, keyspace, table or null).</summary>
    public event Action<string, string, string, string?>? SchemaChanged;

    public CqlTestRing Ring { get; }

    /// <summary>The replication map a keyspace was created with.</summary>
    public IReadOnlyDictionary<string, string>? ReplicationOf(string keyspace)
    {
        lock (_schemaLock)
        {
            return _replication.GetValueOrDefault(keyspace);
        }
    }

    /// <summary>Every keyspace with its replication map, for system_schema.keyspaces.</summary>
    internal List<(string Name, IReadOnlyDictionary<string, string> Replication)> Keyspaces()
    {
        lock (_schemaLock)
        {
            return _replication.Select(pair => (pair.Key, pair.Value)).ToList();
        }
    }

    public Guid SchemaVersion { get; private set; } = Guid.NewGuid();

    /// <summary>The clock TTLs count against: a cell written with <c>USING TTL n</c> at clock time t is hidden from t + n seconds.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Rows stored in a table, all partitions together.</summary>
    public int CountRows(string keyspace, string table)
    {
        var t = Table(keyspace, table);
        lock (t.Lock)
        {
            return t.Partitions.Values.Sum(p => p.Count);
        }
    }

    /// <summary>Non-empty partitions of a table.</summary>
    public int CountPartitions(string keyspace, string table)
    {
        var t = Table(keyspace, table);
        lock (t.Lock)
        {
            return t.Partitions.Values.Count(p => p.Count > 0);
        }
    }

    internal CqlTestTable Table(string? keyspace, string table)
    {
        lock (_schemaLock)
        {
            if (keyspace is null)
            {
                throw new CqlTestError(0x2200, "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename");
            }

            if (!_keyspaces.Contains(keyspace))
            {
                throw new CqlTestError(0x2200, $"Keyspace {keyspace} does not exist");
            }

            return _tables.TryGetValue($"{keyspace}.{table}", out var found)
                ? found
                : throw new CqlTestError(0x2200, $"unconfigured table {table}");
        }
    }

    internal bool Apply(CqlTestStatement statement)
    {
        lock (_schemaLock)
        {
            if (statement.Kind == CqlTestStatementKind.CreateKeyspace)
            {
                if (_keyspaces.Add(statement.Keyspace))
                {
                    _replication[statement.Keyspace] = statement.Replication;
                }
                else
                {
                    return statement.IfNotExists ? false : throw new CqlTestError(0x2400, $"Keyspace {statement.Keyspace} already exists", w =>
                    {
                        w.WriteString(statement.Keyspace);
                        w.WriteString(string.Empty);
                    });
                }
            }
            else
            {
                if (!_keyspaces.Contains(statement.Keyspace))
                {
                    throw new CqlTestError(0x2200, $"Keyspace {statement.Keyspace} does not exist");
                }

                var key = $"{statement.Keyspace}.{statement.Table}";
                if (_tables.ContainsKey(key))
                {
                    return statement.IfNotExists ? false : throw new CqlTestError(0x2400, $"Table {key} already exists", w =>
                    {
                        w.WriteString(statement.Keyspace);
                        w.WriteString(statement.Table);
                    });
                }

                _tables[key] = statement.Definition!;
            }

            SchemaVersion = Guid.NewGuid();
        }

        SchemaChanged?.Invoke(
            "CREATED",
            statement.Kind == CqlTestStatementKind.CreateKeyspace ? "KEYSPACE" : "TABLE",
            statement.Keyspace,
            statement.Kind == CqlTestStatementKind.CreateKeyspace ? null : statement.Table);
        return true;
    }

    /// <summary>The Murmur3 token of a row's partition.</summary>
    internal static long TokenOf(CqlTestTable table, Dictionary<string, byte[]?> row) =>
        EventSourcing.SystemOfRecord.Cassandra.Client.Murmur3Token.Compute(
            EventSourcing.SystemOfRecord.Cassandra.Client.Murmur3Token.RoutingKey(table.PartitionKey.Select(k => row[k]!).ToList()));

    /// <summary>
    /// Upserts a row. As in Cassandra, each cell keeps its write timestamp (the client's, else the server clock) and a
    /// write older than the stored cell is ignored; on equal timestamps the larger value wins. An INSERT also writes the
    /// row marker (the row exists while its marker or any cell lives, even with only a primary key). With
    /// <c>USING TTL n</c> (n &gt; 0) the marker and the written cells expire n seconds after <see cref="Clock"/>'s now;
    /// expired cells and rows are hidden from reads and count as absent for IF NOT EXISTS.
    /// </summary>
    internal (bool Applied, long Token, Dictionary<string, byte[]?>? Current) Insert(CqlTestStatement statement, IReadOnlyList<byte[]?> bound, long? timestamp = null)
    {
        var table = Table(statement.Keyspace, statement.Table);
        var values = statement.Values(bound);
        var now = Clock.GetUtcNow().UtcTicks;
        var ttl = statement.TtlOf(bound);
        long? expiry = ttl > 0 ? now + (ttl * TimeSpan.TicksPerSecond) : null;
        var row = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        for (var i = 0; i < statement.Columns.Count; i++)
        {
            var column = table.Column(statement.Columns[i]);
            var value = values[i];
            if (ReferenceEquals(value, Unset))
            {
                continue;
            }

            CheckValue(column.Name, column.Type, value);
            row[column.Name] = value;
        }

        foreach (var key in table.PrimaryKey)
        {
            if (!row.TryGetValue(key, out var value) || value is null)
            {
                throw new CqlTestError(0x2200, $"Invalid null value in condition for column {key}");
            }
        }

        var partitionKey = table.PartitionKeyOf(row);
        var token = TokenOf(table, row);
        var writeTime = timestamp ?? ServerMicros();
        var clustering = table.ClusteringKey is null ? [] : row[table.ClusteringKey]!;
        lock (table.Lock)
        {
            if (!table.Partitions.TryGetValue(partitionKey, out var partition))
            {
                partition = table.Partitions[partitionKey] = new SortedDictionary<byte[], Dictionary<string, byte[]?>>(table.ClusteringComparer);
            }

            if (writeTime <= table.TombstoneOf(partitionKey, clustering))
            {
                // Older than a deletion of the row: shadowed, as in Cassandra.
                return (true, token, null);
            }

            if (partition.TryGetValue(clustering, out var existing) && IsLive(table, existing, now))
            {
                if (statement.IfNotExists)
                {
                    return (false, token, Visible(existing, now));
                }

                foreach (var name in row.Keys.Where(n => !table.PrimaryKey.Contains(n)).Append(RowMarker))
                {
                    var stored = existing.TryGetValue(WriteTimeKey(name), out var storedTime) ? BinaryPrimitives.ReadInt64BigEndian(storedTime) : long.MinValue;
                    var wins = name == RowMarker
                        ? writeTime > stored || (writeTime == stored && (expiry ?? long.MaxValue) >= (ExpiryOf(existing, name) ?? long.MaxValue))
                        : writeTime > stored || (writeTime == stored && (existing.GetValueOrDefault(name) ?? []).AsSpan().SequenceCompareTo(row[name] ?? []) < 0);
                    if (wins)
                    {
                        if (name != RowMarker)
                        {
                            existing[name] = row[name];
                        }

                        SetCellTimes(existing, name, writeTime, expiry);
                    }
                }
            }
            else
            {
                foreach (var name in row.Keys.ToList().Append(RowMarker))
                {
                    // Primary key columns live as long as the row: only the marker and regular cells expire.
                    SetCellTimes(row, name, writeTime, table.PrimaryKey.Contains(name) ? null : expiry);
                }

                partition[clustering] = row;
            }

            return (true, token, null);
        }
    }

    /// <summary>
    /// UPDATE ... SET ... WHERE key [IF column = value ...]: upserts the assigned cells (no row marker, as in Cassandra).
    /// With conditions it is a lightweight transaction, checked and applied under the table's lock: not applied when the
    /// row is absent or a condition fails, and then the current row comes back.
    /// </summary>
    internal (bool Applied, Dictionary<string, byte[]?>? Current) Update(CqlTestStatement statement, IReadOnlyList<byte[]?> bound, long? timestamp)
    {
        var table = Table(statement.Keyspace, statement.Table);
        var (assigned, key, conditions) = statement.UpdateParts(bound);
        foreach (var (column, value) in assigned)
        {
            CheckValue(column, table.Column(column).Type, value);
        }

        var now = Clock.GetUtcNow().UtcTicks;
        var writeTime = timestamp ?? ServerMicros();
        var partitionKey = table.PartitionKeyOf(key);
        var clustering = table.ClusteringKey is null ? [] : key[table.ClusteringKey]!;
        lock (table.Lock)
        {
            var current = CurrentRow(table, partitionKey, clustering, now);
            if (statement.IfConditions.Count > 0 && !ConditionsHold(current, conditions))
            {
                return (false, current);
            }

            if (writeTime <= table.TombstoneOf(partitionKey, clustering))
            {
                return (true, null);
            }

            if (!table.Partitions.TryGetValue(partitionKey, out var partition))
            {
                partition = table.Partitions[partitionKey] = new SortedDictionary<byte[], Dictionary<string, byte[]?>>(table.ClusteringComparer);
            }

            if (!partition.TryGetValue(clustering, out var row))
            {
                row = new Dictionary<string, byte[]?>(key, StringComparer.Ordinal);
                partition[clustering] = row;
            }

            foreach (var (column, value) in assigned)
            {
                var stored = row.TryGetValue(WriteTimeKey(column), out var storedTime) ? BinaryPrimitives.ReadInt64BigEndian(storedTime!) : long.MinValue;
                if (writeTime >= stored)
                {
                    row[column] = value;
                    SetCellTimes(row, column, writeTime, null);
                }
            }

            return (true, null);
        }
    }

    /// <summary>
    /// DELETE FROM ... WHERE key [IF column = value ...]: a row deletion at the write timestamp (cells written later
    /// survive, cells written earlier or at the same time are gone). With conditions, a lightweight transaction as for UPDATE.
    /// </summary>
    internal (bool Applied, Dictionary<string, byte[]?>? Current) Delete(CqlTestStatement statement, IReadOnlyList<byte[]?> bound, long? timestamp)
    {
        var table = Table(statement.Keyspace, statement.Table);
        var (_, key, conditions) = statement.UpdateParts(bound);
        var now = Clock.GetUtcNow().UtcTicks;
        var writeTime = timestamp ?? ServerMicros();
        var partitionKey = table.PartitionKeyOf(key);
        var clustering = table.ClusteringKey is null ? [] : key[table.ClusteringKey]!;
        lock (table.Lock)
        {
            var current = CurrentRow(table, partitionKey, clustering, now);
            if (statement.IfConditions.Count > 0 && !ConditionsHold(current, conditions))
            {
                return (false, current);
            }

            table.Tombstones[(partitionKey, Convert.ToHexString(clustering))] = Math.Max(writeTime, table.TombstoneOf(partitionKey, clustering));
            if (table.Partitions.TryGetValue(partitionKey, out var partition) && partition.TryGetValue(clustering, out var row))
            {
                foreach (var column in row.Keys.Where(k => !k.StartsWith('\0') && !table.PrimaryKey.Contains(k)).Append(RowMarker).ToList())
                {
                    var stored = row.TryGetValue(WriteTimeKey(column), out var storedTime) ? BinaryPrimitives.ReadInt64BigEndian(storedTime!) : long.MinValue;
                    if (stored <= writeTime)
                    {
                        row.Remove(column);
                        row.Remove(WriteTimeKey(column));
                        row.Remove(ExpiryKey(column));
                    }
                }

                if (!row.ContainsKey(WriteTimeKey(RowMarker)) && !row.Keys.Any(k => !k.StartsWith('\0') && !table.PrimaryKey.Contains(k)))
                {
                    partition.Remove(clustering);
                }
            }

            return (true, null);
        }
    }

    private static long ServerMicros() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    private static Dictionary<string, byte[]?>? CurrentRow(CqlTestTable table, string partitionKey, byte[] clustering, long now) =>
        table.Partitions.TryGetValue(partitionKey, out var partition) && partition.TryGetValue(clustering, out var row) && IsLive(table, row, now)
            ? Visible(row, now)
            : null;

    private static bool ConditionsHold(Dictionary<string, byte[]?>? current, List<(string Column, byte[]? Value)> conditions) =>
        current is not null && conditions.All(c => (current.GetValueOrDefault(c.Column) ?? []).AsSpan().SequenceEqual(c.Value ?? []) && (current.GetValueOrDefault(c.Column) is null) == (c.Value is null));

    /// <summary>The cells of a row a read sees now: bookkeeping entries and expired cells left out.</summary>
    private static Dictionary<string, byte[]?> Visible(Dictionary<string, byte[]?> row, long now) =>
        row.Where(cell => !cell.Key.StartsWith('\0') && (ExpiryOf(row, cell.Key) is not { } expires || expires > now)).ToDictionary(cell => cell.Key, cell => cell.Value, StringComparer.Ordinal);

    internal (List<Dictionary<string, byte[]?>> Rows, byte[]? PagingState) Select(CqlTestStatement statement, IReadOnlyList<byte[]?> bound, int? pageSize, byte[]? pagingState)
    {
        var table = Table(statement.Keyspace, statement.Table);
        var values = statement.Values(bound);
        var key = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        var ranges = new List<(string Op, byte[] Value)>();
        for (var i = 0; i < statement.Conditions.Count; i++)
        {
            var (column, op) = statement.Conditions[i];
            var value = values[i] ?? throw new CqlTestError(0x2200, $"Invalid null value for {column}");
            if (table.PartitionKey.Contains(column) && op == "=")
            {
                key[column] = value;
            }
            else if (column == table.ClusteringKey)
            {
                ranges.Add((op, value));
            }
            else
            {
                throw new CqlTestError(0x2200, $"Cannot execute this query as it might involve data filtering and thus may have unpredictable performance (column {column})");
            }
        }

        if (statement.Conditions.Count == 0)
        {
            return Scan(table, pageSize, pagingState);
        }

        if (table.PartitionKey.Any(k => !key.ContainsKey(k)))
        {
            throw new CqlTestError(0x2200, "Every partition key column must be restricted by equality in this test server");
        }

        var partitionKey = table.PartitionKeyOf(key);
        var now = Clock.GetUtcNow().UtcTicks;
        var rows = new List<Dictionary<string, byte[]?>>();
        byte[]? next = null;
        lock (table.Lock)
        {
            if (!table.Partitions.TryGetValue(partitionKey, out var partition))
            {
                return (rows, null);
            }

            var comparer = table.ClusteringComparer;
            foreach (var (clustering, row) in partition)
            {
                if (pagingState is not null && comparer.Compare(clustering, pagingState) <= 0)
                {
                    continue;
                }

                if (!ranges.All(r => Matches(comparer.Compare(clustering, r.Value), r.Op)) || !IsLive(table, row, now))
                {
                    continue;
                }

                if (pageSize is > 0 && rows.Count == pageSize)
                {
                    next = rows[^1][table.ClusteringKey!];
                    break;
                }

                rows.Add(row.Where(cell => ExpiryOf(row, cell.Key) is not { } expires || expires > now).ToDictionary(cell => cell.Key, cell => cell.Value, StringComparer.Ordinal));
            }
        }

        return (rows, next);
    }

    /// <summary>A SELECT without WHERE: every live row of every partition (ordered by partition key here, not by token), paged.</summary>
    private (List<Dictionary<string, byte[]?>> Rows, byte[]? PagingState) Scan(CqlTestTable table, int? pageSize, byte[]? pagingState)
    {
        var now = Clock.GetUtcNow().UtcTicks;
        var after = pagingState is null ? null : System.Text.Encoding.UTF8.GetString(pagingState);
        var rows = new List<Dictionary<string, byte[]?>>();
        lock (table.Lock)
        {
            foreach (var (partitionKey, partition) in table.Partitions.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                foreach (var (clustering, row) in partition)
                {
                    var position = partitionKey + "/" + Convert.ToHexString(clustering);
                    if ((after is not null && string.CompareOrdinal(position, after) <= 0) || !IsLive(table, row, now))
                    {
                        continue;
                    }

                    if (pageSize is > 0 && rows.Count == pageSize)
                    {
                        return (rows, System.Text.Encoding.UTF8.GetBytes(after!));
                    }

                    rows.Add(Visible(row, now));
                    after = position;
                }
            }
        }

        return (rows, null);
    }

    // Cell write times and expiries ride along in the row under names no CQL column can have; so does the row marker.
    private const string RowMarker = "\0row";

    private static string WriteTimeKey(string column) => "\0writetime:" + column;

    private static string ExpiryKey(string column) => "\0expires:" + column;

    private static long? ExpiryOf(Dictionary<string, byte[]?> row, string column) =>
        row.TryGetValue(ExpiryKey(column), out var bytes) && bytes is not null ? BinaryPrimitives.ReadInt64BigEndian(bytes) : null;

    private static void SetCellTimes(Dictionary<string, byte[]?> row, string column, long writeTime, long? expiry)
    {
        row[WriteTimeKey(column)] = WriteTimeBytes(writeTime);
        if (expiry is { } expires)
        {
            row[ExpiryKey(column)] = WriteTimeBytes(expires);
        }
        else
        {
            row.Remove(ExpiryKey(column));
        }
    }

    /// <summary>A row lives while its marker lives or any of its regular cells holds an unexpired value.</summary>
    private static bool IsLive(CqlTestTable table, Dictionary<string, byte[]?> row, long now)
    {
        bool Alive(string column) => ExpiryOf(row, column) is not { } expires || expires > now;

        if (!row.ContainsKey(WriteTimeKey(RowMarker)) || Alive(RowMarker))
        {
            return true;
        }

        return row.Any(cell => !cell.Key.StartsWith('\0') && !table.PrimaryKey.Contains(cell.Key) && cell.Value is not null && Alive(cell.Key));
    }

    private static byte[] WriteTimeBytes(long time)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, time);
        return bytes;
    }

    private static bool Matches(int comparison, string op) => op switch
    {
        "=" => comparison == 0,
        ">" => comparison > 0,
        ">=" => comparison >= 0,
        "<" => comparison < 0,
        "<=" => comparison <= 0,
        _ => throw new CqlTestError(0x2000, $"Unsupported operator {op}"),
    };

    /// <summary>Refuses a value whose bytes are not a valid serialization of the column type, as Cassandra does.</summary>
    private static void CheckValue(string column, CqlDataType type, byte[]? value)
    {
        if (value is null)
        {
            return;
        }

        var expected = type.Code switch
        {
            CqlTypeCode.Timestamp or CqlTypeCode.Bigint => 8,
            CqlTypeCode.Int => 4,
            CqlTypeCode.Boolean => 1,
            CqlTypeCode.Uuid or CqlTypeCode.Timeuuid => 16,
            _ => -1,
        };
        if (expected >= 0 && value.Length != expected)
        {
            throw new CqlTestError(0x2200, $"Expected {expected} bytes for column {column} of type {type.Code}; got {value.Length}");
        }

        if (type.Code == CqlTypeCode.Timeuuid && (value[6] >> 4) != 1)
        {
            throw new CqlTestError(0x2200, $"Unsupported UUID for timeuuid column {column}: not version 1");
        }

        if (type.Code is CqlTypeCode.Map or CqlTypeCode.Set or CqlTypeCode.List)
        {
            try
            {
                type.Decode(value);
            }
            catch (Exception ex) when (ex is CassandraProtocolException or ArgumentException)
            {
                throw new CqlTestError(0x2200, $"Invalid collection value for column {column}: {ex.Message}");
            }
        }
    }
}

internal sealed class CqlTestTable
{
    public required string Keyspace { get; init; }

    public required string Name { get; init; }

    public required List<(string Name, CqlDataType Type)> Columns { get; init; }

    public required List<string> PartitionKey { get; init; }

    public string? ClusteringKey { get; init; }

    public object Lock { get; } = new();

    public Dictionary<string, SortedDictionary<byte[], Dictionary<string, byte[]?>>> Partitions { get; } = new(StringComparer.Ordinal);

    /// <summary>Row deletions: the write timestamp of the latest DELETE of each row (partition key, clustering hex).</summary>
    public Dictionary<(string Partition, string Clustering), long> Tombstones { get; } = [];

    public long TombstoneOf(string partitionKey, byte[] clustering) =>
        Tombstones.TryGetValue((partitionKey, Convert.ToHexString(clustering)), out var time) ? time : long.MinValue;

    public IEnumerable<string> PrimaryKey => ClusteringKey is null ? PartitionKey : PartitionKey.Append(ClusteringKey);

    public IComparer<byte[]> ClusteringComparer => Comparer<byte[]>.Create((a, b) => CompareValues(ClusteringKey is null ? CqlDataType.Blob : Column(ClusteringKey).Type, a, b));

    public static CqlTestTable System(string name, string columns, string keyspace = "system") => new()
    {
        Keyspace = keyspace,
        Name = name,
        Columns = CqlTestStatement.SplitTopLevel(columns).Select(CqlTestStatement.ParseColumn).ToList(),
        PartitionKey = [],
    };

    public (string Name, CqlDataType Type) Column(string name)
    {
        foreach (var column in Columns)
        {
            if (column.Name == name)
            {
                return column;
            }
        }

        throw new CqlTestError(0x2200, $"Undefined column name {name} in table {Keyspace}.{Name}");
    }

    public string PartitionKeyOf(Dictionary<string, byte[]?> row) =>
        string.Join("|", PartitionKey.Select(k => Convert.ToHexString(row[k]!)));

    /// <summary>Cassandra's ordering of serialized values: signed numbers, timeuuid by time then signed bytes, others by unsigned bytes.</summary>
    public static int CompareValues(CqlDataType type, byte[] a, byte[] b)
    {
        switch (type.Code)
        {
            case CqlTypeCode.Timestamp or CqlTypeCode.Bigint when a.Length == 8 && b.Length == 8:
                return BinaryPrimitives.ReadInt64BigEndian(a).CompareTo(BinaryPrimitives.ReadInt64BigEndian(b));
            case CqlTypeCode.Int when a.Length == 4 && b.Length == 4:
                return BinaryPrimitives.ReadInt32BigEndian(a).CompareTo(BinaryPrimitives.ReadInt32BigEndian(b));
            case CqlTypeCode.Timeuuid when a.Length == 16 && b.Length == 16:
            {
                var byTime = UuidTime(a).CompareTo(UuidTime(b));
                if (byTime != 0)
                {
                    return byTime;
                }

                for (var i = 8; i < 16; i++)
                {
                    var c = ((sbyte)a[i]).CompareTo((sbyte)b[i]);
                    if (c != 0)
                    {
                        return c;
                    }
                }

                return 0;
            }

            default:
                return a.AsSpan().SequenceCompareTo(b);
        }
    }

    // time_hi (low 12 bits of bytes 6-7), time_mid (bytes 4-5), time_low (bytes 0-3).
    private static long UuidTime(byte[] uuid) =>
        ((long)(BinaryPrimitives.ReadUInt16BigEndian(uuid.AsSpan(6)) & 0x0FFF) << 48)
        | ((long)BinaryPrimitives.ReadUInt16BigEndian(uuid.AsSpan(4)) << 32)
        | BinaryPrimitives.ReadUInt32BigEndian(uuid);
}

internal enum CqlTestStatementKind
{
    Use,
    CreateKeyspace,
    CreateTable,
    Insert,
    Select,
    Update,
    Delete,
    AlterTableAdd,
}

/// <summary>One parsed statement of the CQL subset the test server understands.</summary>
internal sealed partial class CqlTestStatement
{
    public required string Cql { get; init; }

    public required CqlTestStatementKind Kind { get; init; }

    public required string Keyspace { get; init; }

    public string Table { get; init; } = string.Empty;

    public bool IfNotExists { get; init; }

    /// <summary>CREATE KEYSPACE: the replication map.</summary>
    public IReadOnlyDictionary<string, string> Replication { get; init; } = new Dictionary<string, string>();

    public CqlTestTable? Definition { get; init; }

    /// <summary>INSERT: the columns; SELECT: the selected columns (empty for *).</summary>
    public List<string> Columns { get; init; } = [];

    /// <summary>INSERT: one per column; SELECT: one per condition. Null is a bind marker, else a literal's text.</summary>
    public List<string?> Literals { get; init; } = [];

    public List<(string Column, string Op)> Conditions { get; init; } = [];

    /// <summary>INSERT ... USING TTL: whether the clause is there.</summary>
    public bool HasTtl { get; init; }

    /// <summary>INSERT ... USING TTL: null for a bind marker (the last one), else the literal number of seconds.</summary>
    public string? TtlLiteral { get; init; }

    public bool IsSystem => Keyspace is "system" or "system_schema";

    /// <summary>UPDATE: the assigned columns (<see cref="Columns"/>, then WHERE, then IF markers in <see cref="Literals"/>); UPDATE and DELETE: the IF column = value conditions.</summary>
    public List<string> IfConditions { get; init; } = [];

    /// <summary>ALTER TABLE ... ADD: the new column.</summary>
    public (string Name, CqlDataType Type)? AddedColumn { get; init; }

    /// <summary>Whether the statement is a lightweight transaction (IF NOT EXISTS, IF EXISTS or IF conditions).</summary>
    public bool IsConditional => IfNotExists || IfConditions.Count > 0;

    /// <summary>UPDATE and DELETE: the assigned values, the primary key, and the IF conditions, from the bound values.</summary>
    public (List<(string Column, byte[]? Value)> Assigned, Dictionary<string, byte[]?> Key, List<(string Column, byte[]? Value)> Conditions) UpdateParts(IReadOnlyList<byte[]?> bound)
    {
        var values = Values(bound);
        var next = 0;
        var assigned = Columns.Select(c => (c, values[next++])).ToList();
        var key = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        foreach (var (column, op) in Conditions)
        {
            if (op != "=")
            {
                throw new CqlTestError(0x2200, $"Only equality on the primary key in UPDATE and DELETE (column {column})");
            }

            key[column] = values[next++] ?? throw new CqlTestError(0x2200, $"Invalid null value for {column}");
        }

        var conditions = IfConditions.Select(c => (c, values[next++])).ToList();
        return (assigned, key, conditions);
    }

    public static CqlTestStatement Parse(string cql, string? sessionKeyspace, CqlTestDatabase database)
    {
        var text = Regex.Replace(cql.Trim().TrimEnd(';'), @"\s+", " ");
        Match m;
        if ((m = UsePattern().Match(text)).Success)
        {
            database.Table("system", "local");
            return new CqlTestStatement { Cql = cql, Kind = CqlTestStatementKind.Use, Keyspace = m.Groups[1].Value };
        }

        if ((m = CreateKeyspacePattern().Match(text)).Success)
        {
            var replication = ReplicationEntryPattern().Matches(m.Groups[3].Value)
                .ToDictionary(e => e.Groups[1].Value, e => e.Groups[2].Value, StringComparer.Ordinal);
            return new CqlTestStatement { Cql = cql, Kind = CqlTestStatementKind.CreateKeyspace, Keyspace = m.Groups[2].Value, IfNotExists = m.Groups[1].Success, Replication = replication };
        }

        if ((m = CreateTablePattern().Match(text)).Success)
        {
            var keyspace = KeyspaceOf(m.Groups[2], sessionKeyspace);
            return new CqlTestStatement
            {
                Cql = cql,
                Kind = CqlTestStatementKind.CreateTable,
                Keyspace = keyspace,
                Table = m.Groups[3].Value,
                IfNotExists = m.Groups[1].Success,
                Definition = ParseTable(keyspace, m.Groups[3].Value, BodyOf(text, m.Groups[3].Index + m.Groups[3].Length)),
            };
        }

        if ((m = InsertPattern().Match(text)).Success)
        {
            var columns = SplitTopLevel(m.Groups[3].Value).ToList();
            var literals = SplitTopLevel(m.Groups[4].Value).Select(v => v == "?" ? null : v).ToList();
            if (columns.Count != literals.Count)
            {
                throw new CqlTestError(0x2200, "Unmatched column names/values");
            }

            var statement = new CqlTestStatement
            {
                Cql = cql,
                Kind = CqlTestStatementKind.Insert,
                Keyspace = KeyspaceOf(m.Groups[1], sessionKeyspace),
                Table = m.Groups[2].Value,
                Columns = columns,
                Literals = literals,
                IfNotExists = m.Groups[5].Success,
                HasTtl = m.Groups[6].Success,
                TtlLiteral = m.Groups[6].Success && m.Groups[6].Value != "?" ? m.Groups[6].Value : null,
            };
            database.Table(statement.Keyspace, statement.Table);
            return statement;
        }

        if ((m = UpdatePattern().Match(text)).Success)
        {
            var assignments = SplitTopLevel(m.Groups[3].Value).Select(a => ConditionPattern().Match(a)).ToList();
            if (assignments.Any(a => !a.Success || a.Groups[2].Value != "="))
            {
                throw new CqlTestError(0x2000, $"line 1: no viable alternative at input '{m.Groups[3].Value}'");
            }

            var (where, whereLiterals) = ParseConditions(m.Groups[4].Value);
            var (ifColumns, ifLiterals) = m.Groups[5].Success ? ParseConditions(m.Groups[5].Value) : ([], []);
            var statement = new CqlTestStatement
            {
                Cql = cql,
                Kind = CqlTestStatementKind.Update,
                Keyspace = KeyspaceOf(m.Groups[1], sessionKeyspace),
                Table = m.Groups[2].Value,
                Columns = assignments.Select(a => a.Groups[1].Value).ToList(),
                Conditions = where,
                IfConditions = ifColumns.Select(c => c.Column).ToList(),
                Literals = [.. assignments.Select(a => a.Groups[3].Value == "?" ? null : a.Groups[3].Value), .. whereLiterals, .. ifLiterals],
            };
            var table = database.Table(statement.Keyspace, statement.Table);
            foreach (var column in statement.Columns.Concat(statement.IfConditions))
            {
                table.Column(column);
            }

            return statement;
        }

        if ((m = DeletePattern().Match(text)).Success)
        {
            var (where, whereLiterals) = ParseConditions(m.Groups[3].Value);
            var (ifColumns, ifLiterals) = m.Groups[4].Success ? ParseConditions(m.Groups[4].Value) : ([], []);
            var statement = new CqlTestStatement
            {
                Cql = cql,
                Kind = CqlTestStatementKind.Delete,
                Keyspace = KeyspaceOf(m.Groups[1], sessionKeyspace),
                Table = m.Groups[2].Value,
                Conditions = where,
                IfConditions = ifColumns.Select(c => c.Column).ToList(),
                Literals = [.. whereLiterals, .. ifLiterals],
            };
            database.Table(statement.Keyspace, statement.Table);
            return statement;
        }

        if ((m = AlterAddPattern().Match(text)).Success)
        {
            return new CqlTestStatement
            {
                Cql = cql,
                Kind = CqlTestStatementKind.AlterTableAdd,
                Keyspace = KeyspaceOf(m.Groups[1], sessionKeyspace),
                Table = m.Groups[2].Value,
                AddedColumn = ParseColumn(m.Groups[3].Value),
            };
        }

        if ((m = SelectPattern().Match(text)).Success)
        {
            var conditions = new List<(string, string)>();
            var literals = new List<string?>();
            if (m.Groups[4].Success)
            {
                foreach (var condition in Regex.Split(m.Groups[4].Value, " AND ", RegexOptions.IgnoreCase))
                {
                    var c = ConditionPattern().Match(condition.Trim());
                    if (!c.Success)
                    {
                        throw new CqlTestError(0x2000, $"line 1: no viable alternative at input '{condition}'");
                    }

                    conditions.Add((c.Groups[1].Value, c.Groups[2].Value));
                    literals.Add(c.Groups[3].Value == "?" ? null : c.Groups[3].Value);
                }
            }

            var selected = m.Groups[1].Value.Trim();
            var statement = new CqlTestStatement
            {
                Cql = cql,
                Kind = CqlTestStatementKind.Select,
                Keyspace = KeyspaceOf(m.Groups[2], sessionKeyspace),
                Table = m.Groups[3].Value,
                Columns = selected == "*" ? [] : SplitTopLevel(selected).ToList(),
                Conditions = conditions,
                Literals = literals,
            };
            var table = database.Table(statement.Keyspace, statement.Table);
            foreach (var column in statement.Columns)
            {
                table.Column(column);
            }

            return statement;
        }

        throw new CqlTestError(0x2000, $"line 1:0 this test server does not understand: {cql}");
    }

    private static (List<(string Column, string Op)> Conditions, List<string?> Literals) ParseConditions(string text)
    {
        var conditions = new List<(string, string)>();
        var literals = new List<string?>();
        foreach (var condition in Regex.Split(text, " AND ", RegexOptions.IgnoreCase))
        {
            var c = ConditionPattern().Match(condition.Trim());
            if (!c.Success)
            {
                throw new CqlTestError(0x2000, $"line 1: no viable alternative at input '{condition}'");
            }

            conditions.Add((c.Groups[1].Value, c.Groups[2].Value));
            literals.Add(c.Groups[3].Value == "?" ? null : c.Groups[3].Value);
        }

        return (conditions, literals);
    }

    public List<(string Name, CqlDataType Type)> Variables(CqlTestDatabase database)
    {
        if (Kind is not (CqlTestStatementKind.Insert or CqlTestStatementKind.Select or CqlTestStatementKind.Update or CqlTestStatementKind.Delete))
        {
            return [];
        }

        var table = database.Table(Keyspace, Table);
        var names = Kind switch
        {
            CqlTestStatementKind.Insert => Columns,
            CqlTestStatementKind.Update => [.. Columns, .. Conditions.Select(c => c.Column), .. IfConditions],
            CqlTestStatementKind.Delete => [.. Conditions.Select(c => c.Column), .. IfConditions],
            _ => Conditions.Select(c => c.Column).ToList(),
        };
        var variables = names.Where((_, i) => Literals[i] is null).Select(table.Column).ToList();
        if (HasTtl && TtlLiteral is null)
        {
            // Cassandra names the TTL marker "[ttl]" and types it int.
            variables.Add(("[ttl]", CqlDataType.Int));
        }

        return variables;
    }

    public List<int> PartitionKeyIndexes(CqlTestDatabase database)
    {
        var variables = Variables(database);
        if (variables.Count == 0)
        {
            return [];
        }

        var table = database.Table(Keyspace, Table);
        var indexes = table.PartitionKey.Select(k => variables.FindIndex(v => v.Name == k)).ToList();
        return indexes.Contains(-1) ? [] : indexes;
    }

    public List<(string Name, CqlDataType Type)>? ResultColumns(CqlTestDatabase database)
    {
        if (Kind != CqlTestStatementKind.Select)
        {
            return null;
        }

        var table = database.Table(Keyspace, Table);
        return Columns.Count == 0 ? table.Columns : Columns.Select(table.Column).ToList();
    }

    /// <summary>The statement's values: bound ones in marker order, literals serialized.</summary>
    public List<byte[]?> Values(IReadOnlyList<byte[]?> bound)
    {
        var markers = Literals.Count(l => l is null) + (HasTtl && TtlLiteral is null ? 1 : 0);
        if (bound.Count != markers)
        {
            throw new CqlTestError(0x2200, $"There were {markers} markers(?) in CQL but {bound.Count} bound variables");
        }

        var values = new List<byte[]?>();
        var next = 0;
        foreach (var literal in Literals)
        {
            values.Add(literal is null ? bound[next++] : LiteralBytes(literal));
        }

        return values;
    }

    /// <summary>The TTL in seconds (0 for none), checked as Cassandra checks it: not null, not negative, at most 20 years.</summary>
    public int TtlOf(IReadOnlyList<byte[]?> bound)
    {
        if (!HasTtl)
        {
            return 0;
        }

        var bytes = TtlLiteral is { } literal ? LiteralBytes(literal) : bound[^1];
        if (bytes is null || ReferenceEquals(bytes, CqlTestDatabase.Unset))
        {
            return ReferenceEquals(bytes, CqlTestDatabase.Unset) ? 0 : throw new CqlTestError(0x2200, "Invalid null value of TTL");
        }

        if (bytes.Length != 4)
        {
            throw new CqlTestError(0x2200, $"Expected 4 bytes for the TTL (int); got {bytes.Length}");
        }

        var ttl = BinaryPrimitives.ReadInt32BigEndian(bytes);
        return ttl switch
        {
            < 0 => throw new CqlTestError(0x2200, $"A TTL must be greater or equal to 0, but was {ttl}"),
            > MaxTtl => throw new CqlTestError(0x2200, $"ttl is too large. requested ({ttl}) maximum ({MaxTtl})"),
            _ => ttl,
        };
    }

    /// <summary>Cassandra's largest TTL: 20 years, in seconds.</summary>
    public const int MaxTtl = 630_720_000;

    internal static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(' or '<':
                    depth++;
                    break;
                case ')' or '>':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return text[start..i].Trim();
                    start = i + 1;
                    break;
            }
        }

        if (text[start..].Trim() is { Length: > 0 } last)
        {
            yield return last;
        }
    }

    internal static (string Name, CqlDataType Type) ParseColumn(string definition)
    {
        var space = definition.IndexOf(' ', StringComparison.Ordinal);
        return (definition[..space], ParseType(definition[(space + 1)..].Replace("PRIMARY KEY", string.Empty, StringComparison.OrdinalIgnoreCase).Trim()));
    }

    private static CqlDataType ParseType(string type)
    {
        type = type.Replace(" ", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        if (type.StartsWith("map<", StringComparison.Ordinal))
        {
            var inner = SplitTopLevel(type[4..^1]).ToList();
            return new CqlDataType(CqlTypeCode.Map, ParseType(inner[0]), ParseType(inner[1]));
        }

        if (type.StartsWith("set<", StringComparison.Ordinal) || type.StartsWith("list<", StringComparison.Ordinal))
        {
            var open = type.IndexOf('<', StringComparison.Ordinal);
            return new CqlDataType(type[0] == 's' ? CqlTypeCode.Set : CqlTypeCode.List, ParseType(type[(open + 1)..^1]));
        }

        return type switch
        {
            "text" or "varchar" => CqlDataType.Text,
            "ascii" => new CqlDataType(CqlTypeCode.Ascii),
            "bigint" => CqlDataType.Bigint,
            "int" => CqlDataType.Int,
            "boolean" => CqlDataType.Boolean,
            "blob" => CqlDataType.Blob,
            "timestamp" => CqlDataType.Timestamp,
            "timeuuid" => CqlDataType.Timeuuid,
            "uuid" => CqlDataType.Uuid,
            "inet" => CqlDataType.Inet,
            _ => throw new CqlTestError(0x2000, $"Unknown type {type}"),
        };
    }

    private static CqlTestTable ParseTable(string keyspace, string name, string body)
    {
        var columns = new List<(string, CqlDataType)>();
        List<string>? partitionKey = null;
        string? clustering = null;
        foreach (var part in SplitTopLevel(body))
        {
            if (part.StartsWith("PRIMARY KEY", StringComparison.OrdinalIgnoreCase))
            {
                var keys = part[part.IndexOf('(', StringComparison.Ordinal)..].Trim()[1..^1];
                var items = SplitTopLevel(keys).ToList();
                partitionKey = items[0].StartsWith('(') ? SplitTopLevel(items[0][1..^1]).ToList() : [items[0]];
                if (items.Count > 2)
                {
                    throw new CqlTestError(0x2200, "This test server supports at most one clustering column");
                }

                clustering = items.Count == 2 ? items[1] : null;
                continue;
            }

            var column = ParseColumn(part);
            columns.Add(column);
            if (part.Contains("PRIMARY KEY", StringComparison.OrdinalIgnoreCase))
            {
                partitionKey = [column.Name];
            }
        }

        return new CqlTestTable
        {
            Keyspace = keyspace,
            Name = name,
            Columns = columns,
            PartitionKey = partitionKey ?? throw new CqlTestError(0x2200, "No PRIMARY KEY specifed (exactly one required)"),
            ClusteringKey = clustering,
        };
    }

    private static string BodyOf(string text, int from)
    {
        var open = text.IndexOf('(', from);
        var depth = 0;
        for (var i = open; i < text.Length; i++)
        {
            depth += text[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (depth == 0)
            {
                return text[(open + 1)..i];
            }
        }

        throw new CqlTestError(0x2000, "Unbalanced parentheses");
    }

    private static string KeyspaceOf(Group group, string? sessionKeyspace) =>
        group.Success ? group.Value : sessionKeyspace ?? throw new CqlTestError(0x2200, "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename");

    private static byte[] LiteralBytes(string literal) =>
        literal.StartsWith('\'')
            ? System.Text.Encoding.UTF8.GetBytes(literal[1..^1].Replace("''", "'", StringComparison.Ordinal))
            : BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(int.Parse(literal, System.Globalization.CultureInfo.InvariantCulture)));

    [GeneratedRegex(@"^USE (\w+)$", RegexOptions.IgnoreCase)]
    private static partial Regex UsePattern();

    [GeneratedRegex(@"^CREATE KEYSPACE (IF NOT EXISTS )?(\w+) WITH (.+)$", RegexOptions.IgnoreCase)]
    private static partial Regex CreateKeyspacePattern();

    [GeneratedRegex(@"'([^']*)' ?: ?'?([^',}]*)'?")]
    private static partial Regex ReplicationEntryPattern();

    [GeneratedRegex(@"^CREATE TABLE (IF NOT EXISTS )?(?:(\w+)\.)?(\w+) ?\(", RegexOptions.IgnoreCase)]
    private static partial Regex CreateTablePattern();

    [GeneratedRegex(@"^INSERT INTO (?:(\w+)\.)?(\w+) ?\(([^)]*)\) ?VALUES ?\(([^)]*)\)( IF NOT EXISTS)?(?: USING TTL (\?|\d+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex InsertPattern();

    [GeneratedRegex(@"^UPDATE (?:(\w+)\.)?(\w+) SET (.+?) WHERE (.+?)(?: IF (?!EXISTS$)(.+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex UpdatePattern();

    [GeneratedRegex(@"^DELETE FROM (?:(\w+)\.)?(\w+) WHERE (.+?)(?: IF (?!EXISTS$)(.+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex DeletePattern();

    [GeneratedRegex(@"^ALTER TABLE (?:(\w+)\.)?(\w+) ADD (\w+ [\w<>, ]+)$", RegexOptions.IgnoreCase)]
    private static partial Regex AlterAddPattern();

    [GeneratedRegex(@"^SELECT (.+?) FROM (?:(\w+)\.)?(\w+)(?: WHERE (.+?))?$", RegexOptions.IgnoreCase)]
    private static partial Regex SelectPattern();

    [GeneratedRegex(@"^(\w+) ?(=|>=|<=|>|<) ?(\?|'(?:[^']|'')*'|-?\d+)$")]
    private static partial Regex ConditionPattern();
}
