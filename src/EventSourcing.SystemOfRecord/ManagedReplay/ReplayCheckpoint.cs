using System.Globalization;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The progress a managed replay keeps in the store (through <see cref="ICheckpointStore"/>): its range and how
/// far it got. Every event before <see cref="NextBucket"/>, and every event of that bucket up to and including
/// <see cref="LastEventId"/>, was delivered.
/// </summary>
public sealed class ReplayCheckpoint
{
    private const string Version = "v1";

    /// <summary>Creates a checkpoint.</summary>
    /// <param name="name">The replay's name.</param>
    /// <param name="from">The first bucket of the range (UTC).</param>
    /// <param name="to">The range end, exclusive (UTC).</param>
    /// <param name="nextBucket">The first bucket not yet completed, or <paramref name="to"/> when the replay is complete.</param>
    /// <param name="lastEventId">The last event of <paramref name="nextBucket"/> already delivered, or <see langword="null"/>.</param>
    public ReplayCheckpoint(string name, DateTime from, DateTime to, DateTime nextBucket, TimeUuid? lastEventId)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        From = UtcTime.Normalize(from, nameof(from));
        To = UtcTime.Normalize(to, nameof(to));
        NextBucket = UtcTime.Normalize(nextBucket, nameof(nextBucket));
        LastEventId = lastEventId;
    }

    /// <summary>The replay's name.</summary>
    public string Name { get; }

    /// <summary>The first bucket of the range (UTC).</summary>
    public DateTime From { get; }

    /// <summary>The range end, exclusive (UTC).</summary>
    public DateTime To { get; }

    /// <summary>The first bucket not yet completed, or <see cref="To"/> when the replay is complete.</summary>
    public DateTime NextBucket { get; }

    /// <summary>The last event of <see cref="NextBucket"/> already delivered (a run stopped inside that bucket), or <see langword="null"/>.</summary>
    public TimeUuid? LastEventId { get; }

    /// <summary>Whether every bucket of the range was delivered.</summary>
    public bool IsComplete => NextBucket >= To;

    /// <summary>The name the checkpoint is kept under in the <see cref="ICheckpointStore"/>.</summary>
    internal static string StorageName(string name) => "replay/" + name;

    internal string Format() => string.Create(CultureInfo.InvariantCulture,
        $"{Version} from={From:O} to={To:O} next={NextBucket:O} after={(LastEventId is { } id ? id.ToString() : "-")}");

    internal static ReplayCheckpoint Parse(string name, string value)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts[0] != Version)
        {
            throw Corrupt(name, value);
        }

        foreach (var part in parts.AsSpan(1))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw Corrupt(name, value);
            }

            fields[part[..equals]] = part[(equals + 1)..];
        }

        if (!fields.TryGetValue("from", out var from) || !TryParseUtc(from, out var fromUtc)
            || !fields.TryGetValue("to", out var to) || !TryParseUtc(to, out var toUtc)
            || !fields.TryGetValue("next", out var next) || !TryParseUtc(next, out var nextUtc)
            || !fields.TryGetValue("after", out var after))
        {
            throw Corrupt(name, value);
        }

        TimeUuid? lastEventId = null;
        if (after != "-")
        {
            if (!TimeUuid.TryParse(after, out var id))
            {
                throw Corrupt(name, value);
            }

            lastEventId = id;
        }

        return new ReplayCheckpoint(name, fromUtc, toUtc, nextUtc, lastEventId);
    }

    private static bool TryParseUtc(string text, out DateTime value) =>
        DateTime.TryParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out value) && value.Kind == DateTimeKind.Utc;

    private static InvalidOperationException Corrupt(string name, string value) =>
        new($"The checkpoint of replay '{name}' ('{value}') is not one a managed replay wrote.");
}
