using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// An RFC 4122 version-1 (time-based) UUID, the same value Cassandra stores as <c>timeuuid</c>.
/// </summary>
/// <remarks>
/// <para>
/// The value carries a timestamp with 100 ns precision. Ordering follows Cassandra's <c>timeuuid</c>
/// comparator: the timestamp first, then the clock sequence and node bytes compared as signed bytes.
/// </para>
/// <para>
/// The clock sequence and node are random per process (no MAC address is read); the node has the
/// multicast bit set, as RFC 4122 section 4.5 asks of random nodes.
/// </para>
/// </remarks>
public readonly struct TimeUuid : IEquatable<TimeUuid>, IComparable<TimeUuid>
{
    /// <summary>The number of bytes in a UUID.</summary>
    public const int Size = 16;

    // Ticks of 1582-10-15T00:00:00Z, the start of the Gregorian calendar and of UUID time.
    private const long GregorianEpochTicks = 499_163_040_000_000_000;
    private const long MaxUuidTicks = (1L << 60) - 1;

    // Cassandra compares the low 8 bytes as signed bytes; flipping each sign bit makes that an unsigned compare.
    private const ulong SignFlip = 0x8080_8080_8080_8080;

    private readonly ulong _msb; // bytes 0-7: time_low, time_mid, time_hi_and_version
    private readonly ulong _lsb; // bytes 8-15: clock_seq_hi_and_reserved, clock_seq_low, node

    private TimeUuid(ulong msb, ulong lsb)
    {
        _msb = msb;
        _lsb = lsb;
    }

    /// <summary>Reads a version-1 UUID from its 16 bytes in network byte order.</summary>
    /// <param name="bytes">Exactly 16 bytes, as <see cref="ToByteArray"/> writes them.</param>
    /// <exception cref="ArgumentException">The span is not 16 bytes long or does not hold a version-1 UUID.</exception>
    public TimeUuid(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            ThrowHelper.ThrowArgument(nameof(bytes), $"A TimeUuid is {Size} bytes long; got {bytes.Length}.");
        }

        var msb = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        if (!IsVersion1(msb))
        {
            ThrowHelper.ThrowArgument(nameof(bytes), "The bytes do not hold a version-1 (time-based) UUID.");
        }

        _msb = msb;
        _lsb = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
    }

    /// <summary>
    /// Creates a TimeUuid for the current time. Values from one process are strictly increasing,
    /// also for many calls within one 100 ns tick and across threads.
    /// </summary>
    public static TimeUuid Create() => TimeUuidGenerator.System.Next();

    /// <summary>Creates a TimeUuid that carries exactly <paramref name="timestamp"/> (to 100 ns).</summary>
    /// <remarks>Two calls with the same timestamp return different values: each call takes the next clock sequence.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The timestamp is before 1582-10-15 or past what 60 bits of 100 ns hold (year 5236).</exception>
    public static TimeUuid Create(DateTimeOffset timestamp) =>
        FromTicks(ToUuidTicks(timestamp, nameof(timestamp)), TimeUuidGenerator.NextClockSequence(), TimeUuidGenerator.Node);

    /// <summary>
    /// The smallest TimeUuid with the given timestamp, like Cassandra's <c>minTimeuuid</c>:
    /// no value with that timestamp sorts before it.
    /// </summary>
    public static TimeUuid Min(DateTimeOffset timestamp) =>
        new(ComposeMsb(ToUuidTicks(timestamp, nameof(timestamp))), SignFlip);

    /// <summary>
    /// The greatest TimeUuid with the given timestamp, like Cassandra's <c>maxTimeuuid</c>:
    /// no value with that timestamp sorts after it.
    /// </summary>
    public static TimeUuid Max(DateTimeOffset timestamp) =>
        new(ComposeMsb(ToUuidTicks(timestamp, nameof(timestamp))), ~SignFlip);

    /// <summary>Parses the canonical 8-4-4-4-12 hexadecimal form (either case) of a version-1 UUID.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="FormatException">The text is not a canonical version-1 UUID.</exception>
    public static TimeUuid Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!TryParse(value.AsSpan(), out var result))
        {
            throw new FormatException($"'{value}' is not a version-1 UUID in the canonical 8-4-4-4-12 form.");
        }

        return result;
    }

    /// <summary>Tries to parse the canonical 8-4-4-4-12 form of a version-1 UUID.</summary>
    /// <returns><see langword="true"/> when <paramref name="value"/> held one.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, out TimeUuid result)
    {
        if (value is null)
        {
            result = default;
            return false;
        }

        return TryParse(value.AsSpan(), out result);
    }

    /// <summary>Tries to parse the canonical 8-4-4-4-12 form of a version-1 UUID.</summary>
    /// <returns><see langword="true"/> when <paramref name="value"/> held one.</returns>
    public static bool TryParse(ReadOnlySpan<char> value, out TimeUuid result)
    {
        result = default;
        if (value.Length != 36 || value[8] != '-' || value[13] != '-' || value[18] != '-' || value[23] != '-')
        {
            return false;
        }

        ulong msb = 0, lsb = 0;
        var nibbles = 0;
        foreach (var c in value)
        {
            if (c == '-')
            {
                continue;
            }

            var digit = HexValue(c);
            if (digit < 0)
            {
                return false;
            }

            if (nibbles < 16)
            {
                msb = (msb << 4) | (uint)digit;
            }
            else
            {
                lsb = (lsb << 4) | (uint)digit;
            }

            nibbles++;
        }

        // Hyphens at the four fixed places and 36 characters leave exactly 32 digits.
        if (!IsVersion1(msb))
        {
            return false;
        }

        result = new TimeUuid(msb, lsb);
        return true;
    }

    /// <summary>The timestamp this UUID carries, in UTC, with 100 ns precision.</summary>
    public DateTimeOffset GetTimestamp() => new(GregorianEpochTicks + UuidTicks, TimeSpan.Zero);

    /// <summary>The 16 bytes in network byte order: the bytes the canonical string spells.</summary>
    /// <remarks>Unlike <see cref="Guid.ToByteArray()"/>, which is mixed-endian.</remarks>
    public byte[] ToByteArray()
    {
        var bytes = new byte[Size];
        WriteBytes(bytes);
        return bytes;
    }

    /// <summary>Writes the 16 bytes in network byte order.</summary>
    /// <returns><see langword="false"/> when <paramref name="destination"/> is shorter than 16 bytes.</returns>
    public bool TryWriteBytes(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            return false;
        }

        WriteBytes(destination);
        return true;
    }

    /// <summary>The canonical lowercase 8-4-4-4-12 form.</summary>
    public override string ToString() => string.Create(36, this, static (chars, uuid) =>
    {
        Span<byte> ascii = stackalloc byte[36];
        uuid.FormatAscii(ascii);
        for (var i = 0; i < ascii.Length; i++)
        {
            chars[i] = (char)ascii[i];
        }
    });

    /// <summary>Writes the canonical form (36 lowercase ASCII characters) as bytes, as <see cref="ToString"/> spells it.</summary>
    internal void FormatAscii(Span<byte> destination)
    {
        Span<byte> bytes = stackalloc byte[Size];
        WriteBytes(bytes);
        var c = 0;
        for (var i = 0; i < Size; i++)
        {
            if (i is 4 or 6 or 8 or 10)
            {
                destination[c++] = (byte)'-';
            }

            destination[c++] = (byte)HexDigit(bytes[i] >> 4);
            destination[c++] = (byte)HexDigit(bytes[i] & 0xF);
        }
    }

    /// <inheritdoc />
    public bool Equals(TimeUuid other) => _msb == other._msb && _lsb == other._lsb;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is TimeUuid other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_msb, _lsb);

    /// <summary>Compares by timestamp, then by clock sequence and node as Cassandra's <c>timeuuid</c> does.</summary>
    public int CompareTo(TimeUuid other)
    {
        var byTime = UuidTicks.CompareTo(other.UuidTicks);
        return byTime != 0 ? byTime : (_lsb ^ SignFlip).CompareTo(other._lsb ^ SignFlip);
    }

    /// <summary>Equality.</summary>
    public static bool operator ==(TimeUuid left, TimeUuid right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(TimeUuid left, TimeUuid right) => !left.Equals(right);

    /// <summary>Sorts before.</summary>
    public static bool operator <(TimeUuid left, TimeUuid right) => left.CompareTo(right) < 0;

    /// <summary>Sorts after.</summary>
    public static bool operator >(TimeUuid left, TimeUuid right) => left.CompareTo(right) > 0;

    /// <summary>Sorts before or equal.</summary>
    public static bool operator <=(TimeUuid left, TimeUuid right) => left.CompareTo(right) <= 0;

    /// <summary>Sorts after or equal.</summary>
    public static bool operator >=(TimeUuid left, TimeUuid right) => left.CompareTo(right) >= 0;

    /// <summary>The 60-bit count of 100 ns intervals since 1582-10-15.</summary>
    private long UuidTicks => (long)(((_msb & 0x0FFF) << 48) | (((_msb >> 16) & 0xFFFF) << 32) | (_msb >> 32));

    internal static TimeUuid FromTicks(long uuidTicks, ushort clockSequence, ulong node) =>
        new(ComposeMsb(uuidTicks), ((0x8000UL | (clockSequence & 0x3FFFUL)) << 48) | (node & 0xFFFF_FFFF_FFFF));

    internal static long ToUuidTicks(DateTimeOffset timestamp, string paramName)
    {
        var ticks = timestamp.UtcTicks - GregorianEpochTicks;
        if (ticks is < 0 or > MaxUuidTicks)
        {
            ThrowHelper.ThrowArgumentOutOfRange(paramName, timestamp, "A version-1 UUID holds times from 1582-10-15 to 5236-03-31 only.");
        }

        return ticks;
    }

    private static ulong ComposeMsb(long uuidTicks)
    {
        var t = (ulong)uuidTicks;
        return ((t & 0xFFFF_FFFF) << 32) | (((t >> 32) & 0xFFFF) << 16) | 0x1000 | ((t >> 48) & 0x0FFF);
    }

    private static bool IsVersion1(ulong msb) => (msb & 0xF000) == 0x1000;

    private void WriteBytes(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _msb);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _lsb);
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);
}

/// <summary>Issues strictly increasing TimeUuids from one clock.</summary>
internal sealed class TimeUuidGenerator
{
    /// <summary>The process-wide generator on the system clock, behind <see cref="TimeUuid.Create()"/>.</summary>
    public static readonly TimeUuidGenerator System = new(TimeProvider.System);

    /// <summary>A random 48-bit node with the multicast bit set (RFC 4122, 4.5), fixed for the process.</summary>
    public static readonly ulong Node = RandomNode();

    private static int s_clockSequence = RandomNumberGenerator.GetInt32(0, 0x4000);

    private readonly TimeProvider _clock;
    private readonly ushort _clockSequence;
    private long _lastTicks = long.MinValue;

    private TimeUuidGenerator(TimeProvider clock)
    {
        _clock = clock;
        _clockSequence = NextClockSequence();
    }

    /// <summary>The shared generator for the system clock, or a generator of its own for any other clock.</summary>
    public static TimeUuidGenerator For(TimeProvider clock) =>
        ReferenceEquals(clock, TimeProvider.System) ? System : new TimeUuidGenerator(clock);

    /// <summary>Each call moves the clock sequence on, so equal timestamps still give distinct values.</summary>
    public static ushort NextClockSequence() => (ushort)(Interlocked.Increment(ref s_clockSequence) & 0x3FFF);

    /// <summary>The next value: the clock's time, or one tick past the last value when the clock has not moved on.</summary>
    public TimeUuid Next()
    {
        var now = TimeUuid.ToUuidTicks(_clock.GetUtcNow(), "clock");
        long last, next;
        do
        {
            last = Volatile.Read(ref _lastTicks);
            next = Math.Max(now, last + 1);
        }
        while (Interlocked.CompareExchange(ref _lastTicks, next, last) != last);

        return TimeUuid.FromTicks(next, _clockSequence, Node);
    }

    /// <summary>Makes every later value carry a timestamp after <paramref name="timestamp"/>, whatever the clock says.</summary>
    /// <remarks>A restart floors its generator at the highest time the last run may have issued, so a clock that went back never reuses that range.</remarks>
    public void Floor(DateTimeOffset timestamp)
    {
        var floor = TimeUuid.ToUuidTicks(timestamp, nameof(timestamp));
        long last;
        do
        {
            last = Volatile.Read(ref _lastTicks);
            if (last >= floor)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _lastTicks, floor, last) != last);
    }

    private static ulong RandomNode()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return (BinaryPrimitives.ReadUInt64BigEndian(bytes) & 0xFFFF_FFFF_FFFF) | 0x0100_0000_0000;
    }
}
