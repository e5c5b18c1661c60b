using System.Buffers.Binary;

namespace EventSourcing.SystemOfRecord.Cassandra.Protocol;

/// <summary>The 9-byte frame header: version, flags, stream, opcode, body length, all big-endian (spec section 2).</summary>
internal readonly record struct CqlFrameHeader(byte Version, byte Flags, short Stream, CqlOpcode Opcode, int Length)
{
    public const int Size = 9;

    /// <summary>Protocol v4; a response sets the direction bit (0x80).</summary>
    public const byte RequestVersion = 0x04;

    public const byte ResponseVersion = 0x84;

    public const byte FlagCompression = 0x01;
    public const byte FlagTracing = 0x02;
    public const byte FlagCustomPayload = 0x04;
    public const byte FlagWarning = 0x08;

    /// <summary>The largest body a frame may carry (256 MB, the spec's limit).</summary>
    public const int MaxBodyLength = 256 * 1024 * 1024;

    public static CqlFrameHeader Read(ReadOnlySpan<byte> source) => new(
        source[0],
        source[1],
        BinaryPrimitives.ReadInt16BigEndian(source[2..]),
        (CqlOpcode)source[4],
        BinaryPrimitives.ReadInt32BigEndian(source[5..]));

    public void Write(Span<byte> destination)
    {
        destination[0] = Version;
        destination[1] = Flags;
        BinaryPrimitives.WriteInt16BigEndian(destination[2..], Stream);
        destination[4] = (byte)Opcode;
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], Length);
    }
}
