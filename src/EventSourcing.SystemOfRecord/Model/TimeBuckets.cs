namespace EventSourcing.SystemOfRecord;

/// <summary>Bucket arithmetic: buckets are aligned to the Unix epoch, <c>bucket(t) = t - (t mod increment)</c>, in UTC.</summary>
internal static class TimeBuckets
{
    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    /// <summary>The start of the bucket holding <paramref name="utc"/>; also right for times before 1970.</summary>
    public static DateTime Floor(DateTime utc, long incrementTicks)
    {
        var remainder = (utc.Ticks - UnixEpochTicks) % incrementTicks;
        if (remainder < 0)
        {
            remainder += incrementTicks;
        }

        return new DateTime(utc.Ticks - remainder, DateTimeKind.Utc);
    }

    /// <summary>How many buckets start in [<paramref name="firstBucket"/>, <paramref name="end"/>).</summary>
    public static long Count(DateTime firstBucket, DateTime end, long incrementTicks) =>
        end <= firstBucket ? 0 : ((end.Ticks - firstBucket.Ticks - 1) / incrementTicks) + 1;
}
