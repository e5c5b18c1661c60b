namespace EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

/// <summary>The column specifications of rows or bound variables (spec 4.2.5.2).</summary>
internal sealed record CqlColumn(string Keyspace, string Table, string Name, CqlDataType Type);

/// <summary>Rows metadata: the columns, and the paging state when more pages follow (spec 4.2.5.2).</summary>
internal sealed class CqlResultMetadata(IReadOnlyList<CqlColumn> columns, byte[]? pagingState)
{
    public const int FlagGlobalTablesSpec = 0x0001;
    public const int FlagHasMorePages = 0x0002;
    public const int FlagNoMetadata = 0x0004;

    public static readonly CqlResultMetadata Empty = new([], null);

    public IReadOnlyList<CqlColumn> Columns { get; } = columns;

    public byte[]? PagingState { get; } = pagingState;

    /// <summary>Reads rows metadata; with no column specs (flag 0x0004), the columns come from <paramref name="known"/>.</summary>
    public static CqlResultMetadata Read(ref CqlReadBuffer reader, CqlResultMetadata? known)
    {
        var flags = reader.ReadInt();
        var count = reader.ReadInt();
        if (count < 0)
        {
            throw new CassandraProtocolException($"Rows metadata declares {count} columns.");
        }

        var pagingState = (flags & FlagHasMorePages) != 0 ? reader.ReadBytes() : null;
        if ((flags & FlagNoMetadata) != 0)
        {
            // A prepared statement that returns no rows (an INSERT, say) has no result metadata.
            var columns = known?.Columns ?? (count == 0 ? [] : throw new CassandraProtocolException("Rows came without metadata and none is known for the statement."));
            return new CqlResultMetadata(columns, pagingState);
        }

        return new CqlResultMetadata(ReadColumns(ref reader, flags, count), pagingState);
    }

    /// <summary>Column specs: an optional global keyspace and table, then per column (keyspace, table,) name and type.</summary>
    public static List<CqlColumn> ReadColumns(ref CqlReadBuffer reader, int flags, int count)
    {
        string? globalKeyspace = null;
        string? globalTable = null;
        if ((flags & FlagGlobalTablesSpec) != 0)
        {
            globalKeyspace = reader.ReadString();
            globalTable = reader.ReadString();
        }

        // Each column spec: a [string] name and an [option] type, plus keyspace and table [string]s without the global spec.
        var columns = new List<CqlColumn>(CheckColumnCount(ref reader, count, globalKeyspace is null ? 8 : 4));
        for (var i = 0; i < count; i++)
        {
            var keyspace = globalKeyspace ?? reader.ReadString();
            var table = globalTable ?? reader.ReadString();
            var name = reader.ReadString();
            columns.Add(new CqlColumn(keyspace, table, name, CqlDataType.Read(ref reader)));
        }

        return columns;
    }

    private static int CheckColumnCount(ref CqlReadBuffer reader, int count, int minColumnBytes) =>
        count < 0 || (long)count * minColumnBytes > reader.Remaining
            ? throw new CassandraProtocolException($"{count} column specs do not fit in the {reader.Remaining} bytes left of the frame body.")
            : count;
}

/// <summary>RESULT (spec 4.2.5): one subclass per kind.</summary>
internal abstract class ResultResponse : CqlResponse
{
    public const int KindVoid = 0x0001;
    public const int KindRows = 0x0002;
    public const int KindSetKeyspace = 0x0003;
    public const int KindPrepared = 0x0004;
    public const int KindSchemaChange = 0x0005;

    public static ResultResponse Read(ref CqlReadBuffer reader, CqlResultMetadata? knownMetadata)
    {
        var kind = reader.ReadInt();
        return kind switch
        {
            KindVoid => new VoidResult(),
            KindRows => RowsResult.ReadRows(ref reader, knownMetadata),
            KindSetKeyspace => new SetKeyspaceResult(reader.ReadString()),
            KindPrepared => PreparedResult.ReadPrepared(ref reader),
            KindSchemaChange => SchemaChangeResult.ReadChange(ref reader),
            _ => throw new CassandraProtocolException($"Unknown result kind 0x{kind:X4}."),
        };
    }
}

/// <summary>Void: the statement returned nothing (spec 4.2.5.1).</summary>
internal sealed class VoidResult : ResultResponse;

/// <summary>Rows: metadata, then [int] row count and per row one [bytes] per column (spec 4.2.5.2).</summary>
internal sealed class RowsResult(CqlResultMetadata metadata, List<CqlRow> rows) : ResultResponse
{
    public CqlResultMetadata Metadata { get; } = metadata;

    public IReadOnlyList<CqlRow> Rows { get; } = rows;

    /// <summary>The bytes of the largest row of this page, as sent (each value's [bytes] length prefix included).</summary>
    public int LargestRowBytes { get; private init; }

    public static RowsResult ReadRows(ref CqlReadBuffer reader, CqlResultMetadata? knownMetadata)
    {
        var metadata = CqlResultMetadata.Read(ref reader, knownMetadata);
        var columns = metadata.Columns;
        var rawCount = reader.ReadInt();
        if (rawCount > 0 && columns.Count == 0)
        {
            throw new CassandraProtocolException($"A result declares {rawCount} rows but no columns.");
        }

        // Every value of a row is at least its 4-byte [bytes] length: a count that cannot fit is refused before allocating.
        var count = rawCount < 0 || (long)rawCount * columns.Count * 4 > reader.Remaining
            ? throw new CassandraProtocolException($"{rawCount} rows of {columns.Count} columns do not fit in the {reader.Remaining} bytes left of the frame body.")
            : rawCount;
        var rows = new List<CqlRow>(count);
        var largest = 0;
        for (var r = 0; r < count; r++)
        {
            var before = reader.Remaining;
            var values = new object?[columns.Count];
            for (var c = 0; c < values.Length; c++)
            {
                var bytes = reader.ReadBytesSpan(out var isNull);
                values[c] = isNull ? null : columns[c].Type.Decode(bytes);
            }

            largest = Math.Max(largest, before - reader.Remaining);
            rows.Add(new CqlRow(columns, values));
        }

        return new RowsResult(metadata, rows) { LargestRowBytes = largest };
    }
}

/// <summary>Set_keyspace: the result of USE (spec 4.2.5.3).</summary>
internal sealed class SetKeyspaceResult(string keyspace) : ResultResponse
{
    public string Keyspace { get; } = keyspace;
}

/// <summary>Prepared: id, bind-variable metadata with partition key indexes, and result metadata (spec 4.2.5.4).</summary>
internal sealed class PreparedResult(byte[] id, IReadOnlyList<CqlColumn> variables, IReadOnlyList<int> partitionKeyIndexes, CqlResultMetadata resultMetadata) : ResultResponse
{
    public byte[] Id { get; } = id;

    public IReadOnlyList<CqlColumn> Variables { get; } = variables;

    public IReadOnlyList<int> PartitionKeyIndexes { get; } = partitionKeyIndexes;

    public CqlResultMetadata ResultMetadata { get; } = resultMetadata;

    public static PreparedResult ReadPrepared(ref CqlReadBuffer reader)
    {
        var id = reader.ReadShortBytes();
        var flags = reader.ReadInt();
        var count = reader.ReadInt();
        var pkCount = reader.ReadCount(2);
        var pkIndexes = new int[pkCount];
        for (var i = 0; i < pkCount; i++)
        {
            pkIndexes[i] = reader.ReadShort();
        }

        var variables = CqlResultMetadata.ReadColumns(ref reader, flags, count);
        var result = CqlResultMetadata.Read(ref reader, null);
        return new PreparedResult(id, variables, pkIndexes, result);
    }
}

/// <summary>Schema_change: change type, target and options (spec 4.2.5.5).</summary>
internal sealed class SchemaChangeResult(string changeType, string target, string keyspace, string? name) : ResultResponse
{
    public string ChangeType { get; } = changeType;

    public string Target { get; } = target;

    public string Keyspace { get; } = keyspace;

    public string? Name { get; } = name;

    public static SchemaChangeResult ReadChange(ref CqlReadBuffer reader)
    {
        var changeType = reader.ReadString();
        var target = reader.ReadString();
        var keyspace = reader.ReadString();
        string? name = null;
        if (target != "KEYSPACE")
        {
            name = reader.ReadString();
            if (target is "FUNCTION" or "AGGREGATE")
            {
                reader.ReadStringList();
            }
        }

        return new SchemaChangeResult(changeType, target, keyspace, name);
    }
}
