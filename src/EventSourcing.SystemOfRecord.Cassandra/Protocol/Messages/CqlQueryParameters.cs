namespace EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

/// <summary>
/// The &lt;query_parameters&gt; of QUERY and EXECUTE (spec 4.1.4): consistency, flags, then in this order the values,
/// page size, paging state, serial consistency and default timestamp, each present only when its flag is set.
/// </summary>
internal sealed record CqlQueryParameters(
    CassandraConsistency Consistency,
    IReadOnlyList<object?>? Values = null,
    bool SkipMetadata = false,
    int? PageSize = null,
    byte[]? PagingState = null,
    CassandraConsistency? SerialConsistency = null,
    long? DefaultTimestamp = null)
{
    public const byte FlagValues = 0x01;
    public const byte FlagSkipMetadata = 0x02;
    public const byte FlagPageSize = 0x04;
    public const byte FlagPagingState = 0x08;
    public const byte FlagSerialConsistency = 0x10;
    public const byte FlagDefaultTimestamp = 0x20;
    public const byte FlagValueNames = 0x40;

    public void Write(CqlWriteBuffer writer)
    {
        writer.WriteShort((ushort)Consistency);
        byte flags = 0;
        if (Values is { Count: > 0 })
        {
            flags |= FlagValues;
        }

        if (SkipMetadata)
        {
            flags |= FlagSkipMetadata;
        }

        if (PageSize is not null)
        {
            flags |= FlagPageSize;
        }

        if (PagingState is not null)
        {
            flags |= FlagPagingState;
        }

        if (SerialConsistency is not null)
        {
            flags |= FlagSerialConsistency;
        }

        if (DefaultTimestamp is not null)
        {
            flags |= FlagDefaultTimestamp;
        }

        writer.WriteByte(flags);
        if (Values is { Count: > 0 } values)
        {
            writer.WriteShort(checked((ushort)values.Count));
            foreach (var value in values)
            {
                CqlValueWriter.WriteValue(writer, value);
            }
        }

        if (PageSize is { } pageSize)
        {
            writer.WriteInt(pageSize);
        }

        if (PagingState is { } pagingState)
        {
            writer.WriteBytes(pagingState);
        }

        if (SerialConsistency is { } serial)
        {
            writer.WriteShort((ushort)serial);
        }

        if (DefaultTimestamp is { } timestamp)
        {
            writer.WriteLong(timestamp);
        }
    }
}
