namespace EventSourcing.SystemOfRecord.Sqlite.Internal;

/// <summary>
/// Times in the <c>time_bucket</c> and <c>ts</c> columns: 100-nanosecond units since the Unix epoch (UTC), so
/// every <see cref="DateTime"/> round-trips exactly. Divide by 10 000 for Unix milliseconds.
/// </summary>
internal static class UnixTicks
{
    private static readonly long EpochTicks = DateTime.UnixEpoch.Ticks;

    public static long FromUtc(DateTime utc) => utc.Ticks - EpochTicks;

    public static DateTime ToUtc(long unixTicks) => new(unixTicks + EpochTicks, DateTimeKind.Utc);

    /// <summary>Turns a caller's time into UTC: Local is converted, Unspecified is refused (a guess would shift reads by hours).</summary>
    public static DateTime Normalize(DateTime value, string paramName) => value.Kind switch
    {
        DateTimeKind.Utc => value,
        DateTimeKind.Local => value.ToUniversalTime(),
        _ => throw new ArgumentException(
            "The DateTime has DateTimeKind.Unspecified. Pass a UTC time (DateTime.SpecifyKind(value, DateTimeKind.Utc)): "
            + "guessing the zone would shift reads by hours.",
            paramName),
    };
}
