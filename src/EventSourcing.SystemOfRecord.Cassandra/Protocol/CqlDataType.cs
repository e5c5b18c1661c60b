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

    public static CqlDataType Read(ref CqlReadBuffer reader)
    {
        var code = (CqlTypeCode)reader.ReadShort();
        switch (code)
        {
            case CqlTypeCode.Custom:
                return new CqlDataType(code, CustomClass: reader.ReadString());
            case CqlTypeCode.List or CqlTypeCode.Set:
                return new CqlDataType(code, Read(ref reader));
            case CqlTypeCode.Map:
                var key = Read(ref reader);
                return new CqlDataType(code, key, Read(ref reader));
            case CqlTypeCode.Udt:
                reader.ReadString();
                reader.ReadString();
                var fields = reader.ReadShort();
                for (var i = 0; i < fields; i++)
                {
                    reader.ReadString();
                    Read(ref reader);
                }

                return new CqlDataType(code);
            case CqlTypeCode.Tuple:
                var count = reader.ReadShort();
                for (var i = 0; i < count; i++)
                {
                    Read(ref reader);
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
                return DateTime.UnixEpoch.AddMilliseconds(BinaryPrimitives.ReadInt64BigEndian(Exactly(bytes, 8)));
            case CqlTypeCode.Timeuuid:
                return new TimeUuid(Exactly(bytes, 16));
            case CqlTypeCode.Uuid:
                return new Guid(Exactly(bytes, 16), bigEndian: true);
            case CqlTypeCode.Inet:
                return new System.Net.IPAddress(bytes);
            case CqlTypeCode.Map:
            {
                var reader = new CqlReadBuffer(bytes);
                var count = reader.ReadInt();
                var map = new Dictionary<object, object?>(Math.Max(count, 0));
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
                var count = reader.ReadInt();
                var list = new List<object?>(Math.Max(count, 0));
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

    private static ReadOnlySpan<byte> Exactly(ReadOnlySpan<byte> bytes, int length) =>
        bytes.Length == length ? bytes : throw new CassandraProtocolException($"Expected a {length}-byte value; got {bytes.Length} bytes.");
}
