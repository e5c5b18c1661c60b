using System.Buffers.Binary;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Fuzz;

/// <summary>
/// Seeded mutations of valid response frames, as a hostile or broken node would send them: truncation, bit flips,
/// huge lengths and counts, deep type nesting, wrong opcodes, versions and flags, answers on streams nobody asked
/// for, spliced garbage. The same seed and case number always give the same bytes.
/// </summary>
internal static class CqlFrameMutator
{
    public static readonly string[] Kinds =
    [
        "truncate", "truncate-and-fix-length", "bit-flips", "huge-length", "deep-nesting", "wrong-opcode",
        "foreign-stream", "header-length", "version", "flags", "trailing-garbage", "duplicate", "resize-body",
    ];

    /// <summary>Mutates <paramref name="frame"/> (header included) with one to three mutations; returns the bytes and what was done.</summary>
    public static (byte[] Bytes, string Description) Mutate(byte[] frame, Random random)
    {
        var bytes = frame.ToArray();
        var done = new List<string>();
        var count = random.Next(1, 4);
        for (var i = 0; i < count; i++)
        {
            var kind = Kinds[random.Next(Kinds.Length)];
            bytes = Apply(kind, bytes, random);
            done.Add(kind);
        }

        return (bytes, string.Join("+", done));
    }

    private static byte[] Apply(string kind, byte[] bytes, Random random)
    {
        switch (kind)
        {
            case "truncate":
                return bytes[..random.Next(0, bytes.Length)];
            case "truncate-and-fix-length" when bytes.Length > CqlFrameHeader.Size:
            {
                var cut = bytes[..random.Next(CqlFrameHeader.Size, bytes.Length)];
                BinaryPrimitives.WriteInt32BigEndian(cut.AsSpan(5), cut.Length - CqlFrameHeader.Size);
                return cut;
            }

            case "bit-flips":
                for (var i = random.Next(1, 9); i > 0 && bytes.Length > 0; i--)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                }

                return bytes;
            case "huge-length" when bytes.Length > CqlFrameHeader.Size + 4:
            {
                // A [short], [int] or [long] length or count somewhere in the body, at an extreme.
                var at = random.Next(CqlFrameHeader.Size, bytes.Length - 4);
                int[] extremes = [int.MaxValue, int.MinValue, -1, -2, 0x7FFF_FFF0, 10_000_000, 65535, 0x0100_0000];
                var value = extremes[random.Next(extremes.Length)];
                if (random.Next(2) == 0)
                {
                    BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(at), value);
                }
                else
                {
                    BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at), (ushort)value);
                }

                return bytes;
            }

            case "deep-nesting" when bytes.Length >= CqlFrameHeader.Size:
                return DeeplyNestedRows(bytes, random.Next(2) == 0 ? random.Next(CqlDataType.MaxDepth + 1, 64) : 50_000);
            case "wrong-opcode" when bytes.Length > 4:
                bytes[4] = (byte)random.Next(256);
                return bytes;
            case "foreign-stream" when bytes.Length > 3:
                BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(2), (short)random.Next(short.MinValue, short.MaxValue));
                return bytes;
            case "header-length" when bytes.Length >= CqlFrameHeader.Size:
            {
                int[] lengths = [int.MaxValue, -1, CqlFrameHeader.MaxBodyLength, CqlFrameHeader.MaxBodyLength + 1, 200_000_000, random.Next()];
                BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(5), lengths[random.Next(lengths.Length)]);
                return bytes;
            }

            case "version" when bytes.Length > 0:
                bytes[0] = (byte)random.Next(256);
                return bytes;
            case "flags" when bytes.Length > 1:
                bytes[1] = (byte)random.Next(16);
                return bytes;
            case "trailing-garbage":
            {
                var garbage = new byte[random.Next(1, 64)];
                random.NextBytes(garbage);
                return [.. bytes, .. garbage];
            }

            case "duplicate":
                return [.. bytes, .. bytes];
            case "resize-body" when bytes.Length > CqlFrameHeader.Size:
            {
                // Bytes inserted or removed inside the body, the header's length kept right.
                var body = bytes[CqlFrameHeader.Size..].ToList();
                var at = random.Next(body.Count + 1);
                if (random.Next(2) == 0 && body.Count > 0)
                {
                    body.RemoveRange(Math.Min(at, body.Count - 1), Math.Min(random.Next(1, 16), body.Count - Math.Min(at, body.Count - 1)));
                }
                else
                {
                    var inserted = new byte[random.Next(1, 16)];
                    random.NextBytes(inserted);
                    body.InsertRange(at, inserted);
                }

                var resized = new byte[CqlFrameHeader.Size + body.Count];
                bytes.AsSpan(0, CqlFrameHeader.Size).CopyTo(resized);
                BinaryPrimitives.WriteInt32BigEndian(resized.AsSpan(5), body.Count);
                body.CopyTo(resized, CqlFrameHeader.Size);
                return resized;
            }

            default:
                return bytes;
        }
    }

    /// <summary>A RESULT frame on the same stream whose one column has a type nested <paramref name="depth"/> deep.</summary>
    private static byte[] DeeplyNestedRows(byte[] frame, int depth)
    {
        var body = new CqlWriteBuffer();
        body.WriteInt(2);
        body.WriteInt(1);
        body.WriteInt(1);
        body.WriteString("ks");
        body.WriteString("t");
        body.WriteString("c");
        for (var i = 0; i < depth; i++)
        {
            body.WriteShort((ushort)CqlTypeCode.List);
        }

        body.WriteShort((ushort)CqlTypeCode.Int);
        body.WriteInt(0);
        var mutated = new byte[CqlFrameHeader.Size + body.Length];
        frame.AsSpan(0, 5).CopyTo(mutated);
        mutated[4] = (byte)CqlOpcode.Result;
        BinaryPrimitives.WriteInt32BigEndian(mutated.AsSpan(5), body.Length);
        body.WrittenSpan.CopyTo(mutated.AsSpan(CqlFrameHeader.Size));
        return mutated;
    }
}
