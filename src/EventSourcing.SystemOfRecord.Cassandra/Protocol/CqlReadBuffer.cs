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

    public Dictionary<string, string> ReadStringMap()
    {
        var count = ReadShort();
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
        var count = ReadShort();
        var list = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(ReadString());
        }

        return list;
    }

    public Dictionary<string, List<string>> ReadStringMultimap()
    {
        var count = ReadShort();
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

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || _position + count > _source.Length)
        {
            throw new CassandraProtocolException($"The frame body ended early: needed {count} more bytes at offset {_position} of {_source.Length}.");
        }

        var span = _source.Slice(_position, count);
        _position += count;
        return span;
    }
}
