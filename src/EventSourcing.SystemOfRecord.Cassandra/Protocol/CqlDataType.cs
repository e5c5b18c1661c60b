using System.Buffers.Binary;
using System.Text;

namespace EventSourcing.SystemOfRecord.Cassandra.Protocol;

/// <summary>The type ids of an [option] in column metadata (spec section 4.2.5.2).</summary>
internal enum CqlTypeCode : ushort
{
    Custom = 0x0000,
    Ascii = 0x0001,
    Bigint = 0x0002,
    Blob = 0x0003,
    Boolean = 0x0004,
    Counter = 0x0005,
    Decimal = 0x0006,
    Double = 0x0007,
    Float = 0x0008,
    Int = 0x0009,
    Timestamp = 0x000B,
    Uuid = 0x000C,
    Varchar = 0x000D,
    Varint = 0x000E,
    Timeuuid = 0x000F,
    Inet = 0x0010,
    Date = 0x0011,
    Time = 0x0012,
    Smallint = 0x0013,
    Tinyint = 0x0014,
    List = 0x0020,
    Map = 0x0021,
    Set = 0x0022,
    Udt = 0x0030,
    Tuple = 0x0031,
}

/// <summary>A column type as metadata describes it: a code, plus element types for collections.</summary>
internal sealed record CqlDataType(CqlTypeCode Code, CqlDataType? Element = null, CqlDataType? Value = null, string? CustomClass = null)
{
    public static readonly CqlDataType Text = new(CqlTypeCode.Varchar);
    public static readonly CqlDataType Bigint = new(CqlTypeCode.Bigint);
    public static readonly CqlDataType Int = new(CqlTypeCode.Int);
    public static readonly CqlDataType Boolean = new(CqlTypeCode.Boolean);
    public static readonly CqlDataType Blob = new(CqlTypeCode.Blob);
    public static readonly CqlDataType Timestamp = new(CqlTypeCode.Timestamp);
    public static readonly CqlDataType Uuid = new(CqlTypeCode.Uuid);
    public static readonly CqlDataType Timeuuid = new(CqlTypeCode.Timeuuid);
    public static readonly CqlDataType Inet = new(CqlTypeCode.Inet);
    public static readonly CqlDataType TextMap = new(CqlTypeCode.Map, Text, Text);
    public static readonly CqlDataType TextSet = new(CqlTypeCode.Set, Text);

    /// <summary>How deeply collection, UDT and tuple types may nest; Cassandra's own schemas stay far below it.</summary>
    public const int MaxDepth = 16;

    /// <summary>Reads an [option]; nesting deeper than <see cref="MaxDepth"/> is a protocol error, never a stack overflow.</summary>
    public static CqlDataType Read(ref CqlReadBuffer reader) => Read(ref reader, 0);

    private static CqlDataType Read(ref CqlReadBuffer reader, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new CassandraProtocolException($"A column type nests deeper than {MaxDepth} levels.");
        }

        var code = (CqlTypeCode)reader.ReadShort();
        switch (code)
        {
            case CqlTypeCode.Custom:
                return new CqlDataType(code, CustomClass: reader.ReadString());
            case CqlTypeCode.List or CqlTypeCode.Set:
                return new CqlDataType(code, Read(ref reader, depth + 1));
            case CqlTypeCode.Map:
                var key = Read(ref reader, depth + 1);
                return new CqlDataType(code, key, Read(ref reader, depth + 1));
            case CqlTypeCode.Udt:
                reader.ReadString();
                reader.ReadString();

                // Each field: a [string] name and an [option] type, at least 4 bytes.
                var fields = reader.ReadShortCount(4);
                for (var i = 0; i < fields; i++)
                {
                    reader.ReadString();
                    Read(ref reader, depth + 1);
                }

                return new CqlDataType(code);
            case CqlTypeCode.Tuple:
                var count = reader.ReadShortCount(2);
                for (var i = 0; i < count; i++)
                {
                    Read(ref reader, depth + 1);
                }

                return new CqlDataType(code);
            default:
                return new CqlDataType(code);
        }
    }

    public void Write(CqlWriteBuffer writer)
    {
        writer.WriteShort((ushort)Code);
        switch (Code)
        {
            case CqlTypeCode.Custom:
                writer.WriteString(CustomClass ?? string.Empty);
                break;
            case CqlTypeCode.List or CqlTypeCode.Set:
                Element!.Write(writer);
                break;
            case CqlTypeCode.Map:
                Element!.Write(writer);
                Value!.Write(writer);
                break;
        }
    }

    /// <summary>
    /// Decodes a [value] of this type: timestamp as a UTC <see cref="DateTime"/>, (time)uuid as <see cref="Guid"/>
    /// or <see cref="TimeUuid"/>, text as string, blob as byte[], bigint/counter as long, int as int, boolean as bool,
    /// inet as <see cref="System.Net.IPAddress"/>, map as a dictionary, list/set as a list; others as raw bytes.
    /// </summary>
    public object Decode(ReadOnlySpan<byte> bytes)
    {
        switch (Code)
        {
            case CqlTypeCode.Varchar or CqlTypeCode.Ascii:
                return Encoding.UTF8.GetString(bytes);
            case CqlTypeCode.Bigint or CqlTypeCode.Counter:
                return BinaryPrimitives.ReadInt64BigEndian(Exactly(bytes, 8));
            case CqlTypeCode.Int:
                return BinaryPrimitives.ReadInt32BigEndian(Exactly(bytes, 4));
            case CqlTypeCode.Boolean:
                return Exactly(bytes, 1)[0] != 0;
            case CqlTypeCode.Timestamp:
                return ToDateTime(BinaryPrimitives.ReadInt64BigEndian(Exactly(bytes, 8)));
            case CqlTypeCode.Timeuuid:
                var uuid = Exactly(bytes, 16);
                return (uuid[6] >> 4) == 1 ? new TimeUuid(uuid) : throw new CassandraProtocolException("A timeuuid value is not a version-1 UUID.");
            case CqlTypeCode.Uuid:
                return new Guid(Exactly(bytes, 16), bigEndian: true);
            case CqlTypeCode.Inet:
                return bytes.Length is 4 or 16
                    ? new System.Net.IPAddress(bytes)
                    : throw new CassandraProtocolException($"An inet value is 4 or 16 bytes; got {bytes.Length}.");
            case CqlTypeCode.Map:
            {
                var reader = new CqlReadBuffer(bytes);
                var count = reader.ReadCount(8);
                var map = new Dictionary<object, object?>(count);
                for (var i = 0; i < count; i++)
                {
                    var key = reader.ReadBytesSpan(out var keyNull);
                    var value = reader.ReadBytesSpan(out var valueNull);
                    map[keyNull ? throw new CassandraProtocolException("A map key was null.") : Element!.Decode(key)] = valueNull ? null : Value!.Decode(value);
                }

                return map;
            }

            case CqlTypeCode.List or CqlTypeCode.Set:
            {
                var reader = new CqlReadBuffer(bytes);
                var count = reader.ReadCount(4);
                var list = new List<object?>(count);
                for (var i = 0; i < count; i++)
                {
                    var item = reader.ReadBytesSpan(out var isNull);
                    list.Add(isNull ? null : Element!.Decode(item));
                }

                return list;
            }

            default:
                return bytes.ToArray();
        }
    }

    /// <summary>Milliseconds since the epoch as a UTC time; outside what <see cref="DateTime"/> holds is a protocol error.</summary>
    private static DateTime ToDateTime(long milliseconds)
    {
        const long MinMilliseconds = -62_135_596_800_000; // 0001-01-01T00:00:00Z
        const long MaxMilliseconds = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
        return milliseconds is < MinMilliseconds or > MaxMilliseconds
            ? throw new CassandraProtocolException($"A timestamp of {milliseconds} ms since the epoch is outside the years 1 to 9999.")
            : DateTime.UnixEpoch.AddMilliseconds(milliseconds);
    }

    private static ReadOnlySpan<byte> Exactly(ReadOnlySpan<byte> bytes, int length) =>
        bytes.Length == length ? bytes : throw new CassandraProtocolException($"Expected a {length}-byte value; got {bytes.Length} bytes.");
}
