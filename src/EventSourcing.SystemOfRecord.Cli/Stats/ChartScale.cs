namespace EventSourcing.SystemOfRecord.Cli.Stats;

/// <summary>
/// The width of one bar of the events chart: the bucket increment while the range has few buckets, else the shortest
/// of 1 min, 5 min, 15 min, 30 min, 1 h, 3 h, 6 h, 12 h, 1 d, 7 d that keeps the chart at <see cref="MaxBars"/> bars
/// or fewer (whole days beyond that). Bars are aligned to the Unix epoch, as buckets are (except a range whose first
/// bar would start before <see cref="DateTime.MinValue"/>: its bars start there).
/// </summary>
internal sealed class ChartScale
{
    public const int MaxBars = 48;

    private static readonly TimeSpan[] Widths =
    [
        TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(1), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromHours(12),
        TimeSpan.FromDays(1), TimeSpan.FromDays(7),
    ];

    private ChartScale(TimeSpan width, bool perBucket, DateTime firstBar, int bars)
    {
        Width = width;
        PerBucket = perBucket;
        FirstBar = firstBar;
        Bars = bars;
    }

    /// <summary>The time one bar covers.</summary>
    public TimeSpan Width { get; }

    /// <summary>Whether a bar is one bucket.</summary>
    public bool PerBucket { get; }

    public DateTime FirstBar { get; }

    public int Bars { get; }

    /// <summary>The scale for the buckets from <paramref name="firstBucket"/> while before <paramref name="end"/>.</summary>
    public static ChartScale For(DateTime firstBucket, DateTime end, TimeSpan increment)
    {
        var span = end - firstBucket;
        var width = increment;
        var perBucket = true;
        if (Count(firstBucket, end, increment) > MaxBars)
        {
            perBucket = false;
            width = Widths.FirstOrDefault(w => w >= increment && Count(firstBucket, end, w) <= MaxBars);
            if (width == TimeSpan.Zero)
            {
                width = TimeSpan.FromDays(Math.Ceiling(span.TotalDays / (MaxBars - 1)));
            }
        }

        var first = BarFloor(firstBucket, width.Ticks);
        return new ChartScale(width, perBucket, first, (int)Math.Max(1, TimeBuckets.Count(first, end, width.Ticks)));
    }

    /// <summary>The index of the bar that holds <paramref name="bucket"/>.</summary>
    public int BarOf(DateTime bucket) => (int)((bucket.Ticks - FirstBar.Ticks) / Width.Ticks);

    public DateTime BarStart(int index) => FirstBar.AddTicks(Width.Ticks * index);

    /// <summary>What one bar is, in words: "bucket (15s)", "hour", "15 minutes".</summary>
    public string Unit => PerBucket
        ? $"bucket ({CommandLine.TimeText.Format(Width)})"
        : Width switch
        {
            _ when Width == TimeSpan.FromMinutes(1) => "minute",
            _ when Width == TimeSpan.FromHours(1) => "hour",
            _ when Width == TimeSpan.FromDays(1) => "day",
            _ when Width == TimeSpan.FromDays(7) => "week",
            _ when Width < TimeSpan.FromHours(1) => $"{Width.TotalMinutes:0} minutes",
            _ when Width < TimeSpan.FromDays(1) => $"{Width.TotalHours:0} hours",
            _ => $"{Width.TotalDays:0} days",
        };

    private static long Count(DateTime first, DateTime end, TimeSpan width) =>
        TimeBuckets.Count(BarFloor(first, width.Ticks), end, width.Ticks);

    /// <summary>
    /// The start of the bar holding <paramref name="time"/>, aligned to the Unix epoch like buckets; within the first
    /// bar's width of year 1, where that start may fall before <see cref="DateTime.MinValue"/> (a week does not divide
    /// the ticks from year 1 to 1970), <see cref="DateTime.MinValue"/>, and the chart's bars are counted from there.
    /// </summary>
    private static DateTime BarFloor(DateTime time, long widthTicks) =>
        time.Ticks < widthTicks ? DateTime.MinValue : TimeBuckets.Floor(time, widthTicks);
}
