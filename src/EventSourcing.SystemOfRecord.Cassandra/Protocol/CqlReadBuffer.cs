using System.Buffers.Binary;
using System.Text;

namespace EventSourcing.SystemOfRecord.Cassandra.Protocol;

/// <summary>Reads the spec's notation (section 3) from a frame body, big-endian; a short body is a protocol error.</summary>
internal ref struct CqlReadBuffer
{
    private readonly ReadOnlySpan<byte> _source;
    private int _position;

    public CqlReadBuffer(ReadOnlySpan<byte> source)
    {
        _source = source;
        _position = 0;
    }

    public readonly int Remaining => _source.Length - _position;

    public byte ReadByte() => Take(1)[0];

    public ushort ReadShort() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public long ReadLong() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public string ReadString() => Encoding.UTF8.GetString(Take(ReadShort()));

    public string ReadLongString() => Encoding.UTF8.GetString(Take(CheckLength(ReadInt())));

    /// <summary>[bytes]; null when the length is negative.</summary>
    public byte[]? ReadBytes()
    {
        var length = ReadInt();
        return length < 0 ? null : Take(length).ToArray();
    }

    /// <summary>[bytes] as a span over the body; <paramref name="isNull"/> when the length is negative.</summary>
    public ReadOnlySpan<byte> ReadBytesSpan(out bool isNull)
    {
        var length = ReadInt();
        isNull = length < 0;
        return isNull ? default : Take(length);
    }

    public byte[] ReadShortBytes() => Take(ReadShort()).ToArray();

    public ReadOnlySpan<byte> ReadRaw(int count) => Take(count);

    /// <summary>
    /// An [int] count of items that each take at least <paramref name="minItemBytes"/> bytes: refused before anything
    /// is allocated for them when they cannot fit in what is left of the body.
    /// </summary>
    public int ReadCount(int minItemBytes) => CheckCount(ReadInt(), minItemBytes);

    /// <summary>A [short] count of items that each take at least <paramref name="minItemBytes"/> bytes (see <see cref="ReadCount"/>).</summary>
    public int ReadShortCount(int minItemBytes) => CheckCount(ReadShort(), minItemBytes);

    public Dictionary<string, string> ReadStringMap()
    {
        var count = ReadShortCount(4);
        var map = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var key = ReadString();
            map[key] = ReadString();
        }

        return map;
    }

    public List<string> ReadStringList()
    {
        var count = ReadShortCount(2);
        var list = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(ReadString());
        }

        return list;
    }

    public Dictionary<string, List<string>> ReadStringMultimap()
    {
        var count = ReadShortCount(4);
        var map = new Dictionary<string, List<string>>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var key = ReadString();
            map[key] = ReadStringList();
        }

        return map;
    }

    private readonly int CheckLength(int length) =>
        length < 0 ? throw new CassandraProtocolException($"Negative length {length} where none is allowed.") : length;

    private readonly int CheckCount(int count, int minItemBytes)
    {
        if (count < 0 || (long)count * minItemBytes > Remaining)
        {
            throw new CassandraProtocolException($"A count of {count} items of at least {minItemBytes} bytes each does not fit in the {Remaining} bytes left of the frame body.");
        }

        return count;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        // Compared as unsigned against what is left: no sum that could overflow, and a negative count fails too.
        if ((uint)count > (uint)Remaining)
        {
            throw new CassandraProtocolException($"The frame body ended early: needed {count} more bytes at offset {_position} of {_source.Length}.");
        }

        var span = _source.Slice(_position, count);
        _position += count;
        return span;
    }
}
