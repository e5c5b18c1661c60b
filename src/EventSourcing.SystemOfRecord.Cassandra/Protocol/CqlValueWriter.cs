using System.Buffers.Binary;

namespace EventSourcing.SystemOfRecord.Cassandra.Protocol;

/// <summary>
/// Writes bound values as [value]s (an [int] length, then the serialized bytes; -1 for null), choosing the CQL
/// serialization from the CLR type (spec section 6): DateTime/DateTimeOffset as timestamp (ms since the epoch),
/// TimeUuid and Guid as 16 bytes in network order, string as UTF-8, byte[] as blob, long as bigint, int as int,
/// bool as boolean, a string dictionary as map&lt;text,text&gt;.
/// </summary>
internal static class CqlValueWriter
{
    public static void WriteValue(CqlWriteBuffer writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteInt(-1);
                break;
            case CqlUnset:
                writer.WriteInt(-2);
                break;
            case string text:
                writer.WriteLongString(text);
                break;
            case long number:
                writer.WriteInt(8);
                writer.WriteLong(number);
                break;
            case int number:
                writer.WriteInt(4);
                writer.WriteInt(number);
                break;
            case bool flag:
                writer.WriteInt(1);
                writer.WriteByte(flag ? (byte)1 : (byte)0);
                break;
            case DateTime time:
                writer.WriteInt(8);
                writer.WriteLong(ToUnixMilliseconds(time));
                break;
            case DateTimeOffset time:
                writer.WriteInt(8);
                writer.WriteLong(time.ToUnixTimeMilliseconds());
                break;
            case TimeUuid id:
                writer.WriteInt(16);
                id.TryWriteBytes(writer.Reserve(16));
                break;
            case Guid id:
                writer.WriteInt(16);
                id.TryWriteBytes(writer.Reserve(16), bigEndian: true, out _);
                break;
            case byte[] blob:
                writer.WriteBytes(blob);
                break;
            case IEnumerable<KeyValuePair<string, string>> map:
                WriteTextMap(writer, map);
                break;
            default:
                throw new ArgumentException($"No CQL serialization for values of type {value.GetType()}.", nameof(value));
        }
    }

    /// <summary>Milliseconds since the Unix epoch of a UTC (or unspecified, read as UTC) time; local times are converted.</summary>
    public static long ToUnixMilliseconds(DateTime time)
    {
        var utc = time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time;
        var ticks = utc.Ticks - DateTime.UnixEpoch.Ticks;
        return ticks >= 0 ? ticks / TimeSpan.TicksPerMillisecond : -((-ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
    }

    private static void WriteTextMap(CqlWriteBuffer writer, IEnumerable<KeyValuePair<string, string>> map)
    {
        var start = writer.BeginLengthPrefixed();
        var countAt = writer.Length;
        writer.WriteInt(0);
        var count = 0;
        foreach (var (key, value) in map)
        {
            writer.WriteLongString(key);
            writer.WriteLongString(value ?? throw new ArgumentException($"Map entry '{key}' has a null value.", nameof(map)));
            count++;
        }

        BinaryPrimitives.WriteInt32BigEndian(writer.WrittenSpanMutable(countAt, 4), count);
        writer.EndLengthPrefixed(start);
    }
}
