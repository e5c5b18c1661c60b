using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;

namespace EventSourcing.SystemOfRecord.Cassandra.Protocol;

/// <summary>
/// The protocol's lz4 frame body compression (spec section 5): a big-endian [int] holding the uncompressed length,
/// then one raw LZ4 block. Only the body is compressed; the header's compression flag says whether it is.
/// </summary>
internal static class CqlLz4
{
    /// <summary>The name of the algorithm in SUPPORTED and STARTUP.</summary>
    public const string Name = "lz4";

    /// <summary>Compresses a frame: the same header with the compression flag and the new length, then the compressed body.</summary>
    public static CqlWriteBuffer CompressFrame(ReadOnlySpan<byte> frame)
    {
        var header = CqlFrameHeader.Read(frame);
        var body = frame[CqlFrameHeader.Size..];
        var scratch = ArrayPool<byte>.Shared.Rent(LZ4Codec.MaximumOutputSize(body.Length));
        try
        {
            var written = LZ4Codec.Encode(body, scratch);
            if (written < 0)
            {
                throw new InvalidOperationException($"LZ4 could not compress a body of {body.Length} bytes.");
            }

            var compressed = CqlWriteBuffer.ForFrame(4 + written);
            compressed.WriteInt(body.Length);
            compressed.WriteRaw(scratch.AsSpan(0, written));
            compressed.CompleteFrame(header.Version, (byte)(header.Flags | CqlFrameHeader.FlagCompression), header.Stream, header.Opcode);
            return compressed;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Decompresses a body; a stated length over <paramref name="maxLength"/> (or past what LZ4 can expand to), or a block
    /// that does not decode to exactly that length, is a protocol error.
    /// </summary>
    public static byte[] Decompress(ReadOnlySpan<byte> body, int maxLength = CqlFrameHeader.MaxBodyLength)
    {
        if (body.Length < 4)
        {
            throw new CassandraProtocolException($"An lz4-compressed frame body of {body.Length} bytes has no length prefix.");
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(body);
        if (length < 0 || length > maxLength)
        {
            throw new CassandraProtocolException($"An lz4-compressed frame body claims {length} uncompressed bytes; the limit is {maxLength}.");
        }

        // LZ4 expands at most 255:1, so a claim beyond that is a lie told to make us allocate.
        if (length > 255L * (body.Length - 4) + 16)
        {
            throw new CassandraProtocolException($"An lz4-compressed frame body of {body.Length} bytes claims {length} uncompressed bytes.");
        }

        var output = new byte[length];
        var decoded = length == 0 ? 0 : LZ4Codec.Decode(body[4..], output);
        if (decoded != length)
        {
            throw new CassandraProtocolException($"An lz4-compressed frame body did not decode to its stated {length} bytes.");
        }

        return output;
    }
}
