namespace EventSourcing.SystemOfRecord;

/// <summary>Bucket arithmetic: buckets are aligned to the Unix epoch, <c>bucket(t) = t - (t mod increment)</c>, in UTC.</summary>
internal static class TimeBuckets
{
    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    /// <summary>The start of the bucket holding <paramref name="utc"/>; also right for times before 1970.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The bucket would start before <see cref="DateTime.MinValue"/>.</exception>
    public static DateTime Floor(DateTime utc, long incrementTicks, string paramName = "timestamp")
    {
        var remainder = (utc.Ticks - UnixEpochTicks) % incrementTicks;
        if (remainder < 0)
        {
            remainder += incrementTicks;
        }

        if (remainder > utc.Ticks)
        {
            ThrowBeforeMinValue(utc, incrementTicks, paramName);
        }

        return new DateTime(utc.Ticks - remainder, DateTimeKind.Utc);
    }

    // Self-contained (no ThrowHelper): the operator's tool links this file.
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBeforeMinValue(DateTime utc, long incrementTicks, string paramName) =>
        throw new ArgumentOutOfRangeException(
            paramName,
            utc,
            $"The bucket holding {utc:O} would start before DateTime.MinValue with a bucket increment of {TimeSpan.FromTicks(incrementTicks)}.");

    /// <summary>The bucket after <paramref name="bucket"/>, or <see langword="null"/> when it would start after <see cref="DateTime.MaxValue"/>.</summary>
    public static DateTime? Next(DateTime bucket, long incrementTicks) =>
        DateTime.MaxValue.Ticks - bucket.Ticks < incrementTicks ? null : bucket.AddTicks(incrementTicks);

    /// <summary>How many buckets start in [<paramref name="firstBucket"/>, <paramref name="end"/>).</summary>
    public static long Count(DateTime firstBucket, DateTime end, long incrementTicks) =>
        end <= firstBucket ? 0 : ((end.Ticks - firstBucket.Ticks - 1) / incrementTicks) + 1;
}
