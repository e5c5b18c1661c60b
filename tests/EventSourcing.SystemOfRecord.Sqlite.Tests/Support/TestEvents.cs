using System.Security.Cryptography;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

internal static class TestEvents
{
    public static readonly TimeSpan Increment = TimeSpan.FromSeconds(15);

    public static readonly DateTime Bucket = new(2026, 1, 2, 3, 4, 0, DateTimeKind.Utc);

    public static RecordedEvent Create(string message, DateTime? bucket = null, string topic = "events", string? key = null, IReadOnlyDictionary<string, string>? headers = null) =>
        new(bucket ?? Bucket, TimeUuid.Create(), topic, key, message, headers);

    /// <summary>A version-1 UUID with random timestamp, clock sequence and node (every byte value, signs included).</summary>
    public static TimeUuid RandomId()
    {
        Span<byte> bytes = stackalloc byte[TimeUuid.Size];
        RandomNumberGenerator.Fill(bytes);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x10);
        return new TimeUuid(bytes);
    }

    /// <summary>A version-1 UUID with the timestamp of <paramref name="id"/> and random low bytes.</summary>
    public static TimeUuid WithSameTimestamp(TimeUuid id)
    {
        Span<byte> bytes = stackalloc byte[TimeUuid.Size];
        id.TryWriteBytes(bytes);
        RandomNumberGenerator.Fill(bytes[8..]);
        return new TimeUuid(bytes);
    }

    public static async Task<List<RecordedEvent>> ToListAsync(this IAsyncEnumerable<RecordedEvent> events)
    {
        var list = new List<RecordedEvent>();
        await foreach (var e in events)
        {
            list.Add(e);
        }

        return list;
    }
}
