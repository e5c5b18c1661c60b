using System.Globalization;

namespace EventSourcing.SystemOfRecord.Cli.CommandLine;

/// <summary>
/// Times and durations as an operator types them. A time is ISO 8601 (<c>2026-03-01T10:00:00Z</c>; without an offset
/// it is UTC; a date alone is its midnight UTC), <c>now</c>, or <c>now-15m</c> / <c>now+1h</c>. A duration is a number
/// with a unit (<c>500ms</c>, <c>30s</c>, <c>15m</c>, <c>2h</c>, <c>7d</c>) or a time span (<c>00:05:00</c>).
/// </summary>
internal static class TimeText
{
    public const string TimeHelp = "ISO 8601 (UTC unless an offset is given), 'now', or 'now-15m'";

    public const string DurationHelp = "a number with ms, s, m, h or d (30s, 15m, 2h), or hh:mm:ss";

    /// <summary>Reads a time; the result is UTC.</summary>
    public static bool TryParseTime(string text, TimeProvider clock, out DateTime utc)
    {
        utc = default;
        text = text.Trim();
        if (text.StartsWith("now", StringComparison.OrdinalIgnoreCase))
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var rest = text[3..].Trim();
            if (rest.Length == 0)
            {
                utc = now;
                return true;
            }

            if (rest[0] is not ('-' or '+') || !TryParseDuration(rest[1..], out var offset))
            {
                return false;
            }

            try
            {
                utc = rest[0] == '-' ? now - offset : now + offset;
                return true;
            }
            catch (ArgumentOutOfRangeException)
            {
                return false;
            }
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var parsed))
        {
            utc = parsed.UtcDateTime;
            return true;
        }

        return false;
    }

    /// <summary>Reads a non-negative duration.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim();
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
        }

        var (unit, scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => ("ms", TimeSpan.TicksPerMillisecond),
            _ when text.EndsWith('s') || text.EndsWith('S') => ("s", TimeSpan.TicksPerSecond),
            _ when text.EndsWith('m') || text.EndsWith('M') => ("m", TimeSpan.TicksPerMinute),
            _ when text.EndsWith('h') || text.EndsWith('H') => ("h", TimeSpan.TicksPerHour),
            _ when text.EndsWith('d') || text.EndsWith('D') => ("d", TimeSpan.TicksPerDay),
            _ => (null, 0L),
        };
        if (unit is null
            || !double.TryParse(text[..^unit.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || !double.IsFinite(amount)
            || amount * scale > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)(amount * scale));
        return true;
    }

    /// <summary>A time as the tool prints it: ISO 8601 UTC, to the second when that is exact.</summary>
    public static string Format(DateTime utc) =>
        utc.Ticks % TimeSpan.TicksPerSecond == 0
            ? utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A duration as the tool prints it: <c>15s</c>, <c>1h</c>, <c>1d</c>, or <c>1h30m</c>.</summary>
    public static string Format(TimeSpan span)
    {
        if (span == TimeSpan.Zero)
        {
            return "0s";
        }

        var parts = new List<string>(4);
        if (span.Days > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{span.Days}d"));
        }

        if (span.Hours > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{span.Hours}h"));
        }

        if (span.Minutes > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}m"));
        }

        if (span.Seconds > 0 || span.Milliseconds > 0)
        {
            parts.Add(span.Milliseconds > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{span.Seconds + (span.Milliseconds / 1000.0):0.###}s")
                : string.Create(CultureInfo.InvariantCulture, $"{span.Seconds}s"));
        }

        return parts.Count == 0 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMilliseconds:0.###}ms") : string.Concat(parts);
    }
}
