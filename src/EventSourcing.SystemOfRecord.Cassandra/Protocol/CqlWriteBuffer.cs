using System.Buffers.Binary;
using System.Text;

namespace EventSourcing.SystemOfRecord.Cassandra.Protocol;

/// <summary>
/// A growable big-endian buffer for the notation of the spec (section 3): [int], [long], [short], [string],
/// [long string], [bytes], [short bytes], [value], [string map]. A frame starts with a reserved header that
/// <see cref="CompleteFrame"/> fills in once the body length is known.
/// </summary>
internal sealed class CqlWriteBuffer
{
    private byte[] _buffer;
    private int _length;

    public CqlWriteBuffer(int capacity = 256) => _buffer = new byte[Math.Max(capacity, 16)];

    public int Length => _length;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>Starts a request frame: reserves the header.</summary>
    public static CqlWriteBuffer ForFrame(int capacity = 256)
    {
        var buffer = new CqlWriteBuffer(capacity + CqlFrameHeader.Size);
        buffer._length = CqlFrameHeader.Size;
        return buffer;
    }

    /// <summary>Writes the header in front of the body written so far.</summary>
    public void CompleteFrame(byte version, byte flags, short stream, CqlOpcode opcode) =>
        new CqlFrameHeader(version, flags, stream, opcode, _length - CqlFrameHeader.Size).Write(_buffer);

    /// <summary>Rewrites the stream id of a completed frame (the id is chosen when the frame is sent).</summary>
    public void SetStream(short stream) => BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(2), stream);

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteShort(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);

    public void WriteInt(int value) => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);

    public void WriteLong(long value) => BinaryPrimitives.WriteInt64BigEndian(Reserve(8), value);

    public void WriteRaw(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

    /// <summary>[string]: a [short] n, then n bytes of UTF-8.</summary>
    public void WriteString(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        if (count > ushort.MaxValue)
        {
            throw new ArgumentException($"A [string] holds at most {ushort.MaxValue} UTF-8 bytes; got {count}.", nameof(value));
        }

        WriteShort((ushort)count);
        Encoding.UTF8.GetBytes(value, Reserve(count));
    }

    /// <summary>[long string]: an [int] n, then n bytes of UTF-8.</summary>
    public void WriteLongString(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        WriteInt(count);
        Encoding.UTF8.GetBytes(value, Reserve(count));
    }

    /// <summary>[bytes]: an [int] n, then n bytes; n &lt; 0 is null.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteInt(value.Length);
        WriteRaw(value);
    }

    public void WriteNullBytes() => WriteInt(-1);

    /// <summary>[short bytes]: a [short] n, then n bytes.</summary>
    public void WriteShortBytes(ReadOnlySpan<byte> value)
    {
        WriteShort(checked((ushort)value.Length));
        WriteRaw(value);
    }

    /// <summary>[string map]: a [short] n, then n pairs of [string].</summary>
    public void WriteStringMap(IReadOnlyCollection<KeyValuePair<string, string>> map)
    {
        WriteShort(checked((ushort)map.Count));
        foreach (var (key, value) in map)
        {
            WriteString(key);
            WriteString(value);
        }
    }

    /// <summary>[string list]: a [short] n, then n [string].</summary>
    public void WriteStringList(IReadOnlyCollection<string> list)
    {
        WriteShort(checked((ushort)list.Count));
        foreach (var item in list)
        {
            WriteString(item);
        }
    }

    /// <summary>Reserves room for an [int] length prefix; <see cref="EndLengthPrefixed"/> fills it in.</summary>
    public int BeginLengthPrefixed()
    {
        Reserve(4);
        return _length;
    }

    public void EndLengthPrefixed(int start) =>
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(start - 4), _length - start);

    public Span<byte> WrittenSpanMutable(int start, int count) => _buffer.AsSpan(start, count);

    public Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
