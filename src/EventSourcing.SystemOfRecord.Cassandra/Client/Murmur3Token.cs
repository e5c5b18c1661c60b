using System.Buffers.Binary;
using System.Numerics;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// The token of Cassandra's Murmur3Partitioner: the first 64 bits of MurmurHash3 x64/128 (seed 0) of the serialized
/// partition key, with Cassandra's quirk of sign-extending the tail bytes, and <see cref="long.MinValue"/> mapped to
/// <see cref="long.MaxValue"/>.
/// </summary>
internal static class Murmur3Token
{
    private const ulong C1 = 0x87c37b91114253d5;
    private const ulong C2 = 0x4cf5ad432745937f;

    public static long Compute(ReadOnlySpan<byte> key)
    {
        var h1 = (long)Hash(key);
        return h1 == long.MinValue ? long.MaxValue : h1;
    }

    /// <summary>The routing key of a partition key: the value itself, or for several columns each as [short] length, bytes, 0.</summary>
    public static byte[] RoutingKey(IReadOnlyList<byte[]> components)
    {
        if (components.Count == 1)
        {
            return components[0];
        }

        var key = new byte[components.Sum(c => c.Length + 3)];
        var at = 0;
        foreach (var component in components)
        {
            BinaryPrimitives.WriteUInt16BigEndian(key.AsSpan(at), checked((ushort)component.Length));
            component.CopyTo(key, at + 2);
            at += component.Length + 3;
        }

        return key;
    }

    private static ulong Hash(ReadOnlySpan<byte> key)
    {
        ulong h1 = 0;
        ulong h2 = 0;
        var blocks = key.Length / 16;
        for (var i = 0; i < blocks; i++)
        {
            var k1 = BinaryPrimitives.ReadUInt64LittleEndian(key[(i * 16)..]);
            var k2 = BinaryPrimitives.ReadUInt64LittleEndian(key[((i * 16) + 8)..]);
            h1 ^= MixK1(k1);
            h1 = (BitOperations.RotateLeft(h1, 27) + h2) * 5 + 0x52dce729;
            h2 ^= MixK2(k2);
            h2 = (BitOperations.RotateLeft(h2, 31) + h1) * 5 + 0x38495ab5;
        }

        var tail = key[(blocks * 16)..];
        ulong t1 = 0;
        ulong t2 = 0;
        for (var i = tail.Length - 1; i >= 8; i--)
        {
            t2 ^= (ulong)(long)(sbyte)tail[i] << ((i - 8) * 8);
        }

        for (var i = Math.Min(tail.Length, 8) - 1; i >= 0; i--)
        {
            t1 ^= (ulong)(long)(sbyte)tail[i] << (i * 8);
        }

        if (tail.Length > 8)
        {
            h2 ^= MixK2(t2);
        }

        if (tail.Length > 0)
        {
            h1 ^= MixK1(t1);
        }

        h1 ^= (ulong)key.Length;
        h2 ^= (ulong)key.Length;
        h1 += h2;
        h2 += h1;
        h1 = FMix(h1);
        h2 = FMix(h2);
        h1 += h2;
        return h1;
    }

    private static ulong MixK1(ulong k) => BitOperations.RotateLeft(k * C1, 31) * C2;

    private static ulong MixK2(ulong k) => BitOperations.RotateLeft(k * C2, 33) * C1;

    private static ulong FMix(ulong k)
    {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccd;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53;
        k ^= k >> 33;
        return k;
    }
}
