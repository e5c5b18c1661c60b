using System.Buffers.Binary;

namespace EventSourcing.SystemOfRecord.Sqlite.Internal;

/// <summary>
/// The 16-byte layout the <c>events.event_id</c> column holds, chosen so that SQLite's BLOB comparison (memcmp)
/// orders rows exactly as <see cref="TimeUuid.CompareTo(TimeUuid)"/> does:
/// bytes 0-7 are the 60-bit UUID timestamp, big-endian; bytes 8-15 are the UUID's bytes 8-15 (clock sequence
/// and node), each XOR 0x80, which turns Cassandra's signed-byte comparison into an unsigned one.
/// The version nibble is always 1 for a <see cref="TimeUuid"/>, so nothing is lost.
/// </summary>
internal static class SortableEventId
{
    public const int Size = TimeUuid.Size;

    private const ulong SignFlip = 0x8080_8080_8080_8080;

    public static byte[] Encode(TimeUuid id)
    {
        Span<byte> canonical = stackalloc byte[TimeUuid.Size];
        id.TryWriteBytes(canonical);
        var msb = BinaryPrimitives.ReadUInt64BigEndian(canonical);
        var lsb = BinaryPrimitives.ReadUInt64BigEndian(canonical[8..]);

        // msb is time_low (32) | time_mid (16) | version (4) | time_hi (12).
        var ticks = ((msb & 0x0FFF) << 48) | (((msb >> 16) & 0xFFFF) << 32) | (msb >> 32);

        var key = new byte[Size];
        BinaryPrimitives.WriteUInt64BigEndian(key, ticks);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(8), lsb ^ SignFlip);
        return key;
    }

    /// <exception cref="FormatException">The value is not a 16-byte key this layout wrote.</exception>
    public static TimeUuid Decode(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new FormatException($"An events.event_id value is {Size} bytes long; the database holds one of {key.Length} bytes.");
        }

        var ticks = BinaryPrimitives.ReadUInt64BigEndian(key);
        if (ticks >> 60 != 0)
        {
            throw new FormatException("An events.event_id value holds a timestamp wider than 60 bits; the database was not written by this store.");
        }

        var msb = ((ticks & 0xFFFF_FFFF) << 32) | (((ticks >> 32) & 0xFFFF) << 16) | 0x1000 | ((ticks >> 48) & 0x0FFF);
        var lsb = BinaryPrimitives.ReadUInt64BigEndian(key[8..]) ^ SignFlip;

        Span<byte> canonical = stackalloc byte[TimeUuid.Size];
        BinaryPrimitives.WriteUInt64BigEndian(canonical, msb);
        BinaryPrimitives.WriteUInt64BigEndian(canonical[8..], lsb);
        return new TimeUuid(canonical);
    }
}
