namespace EventSourcing.SystemOfRecord;

/// <summary>
/// How far a reload, reconciliation or managed replay has come. Reported through <see cref="IProgress{T}"/>
/// each time a bucket completes and once at the end, when <see cref="BucketsCompleted"/> equals <see cref="BucketsTotal"/>.
/// </summary>
public sealed class ReplayProgress
{
    /// <summary>Creates a progress report.</summary>
    /// <param name="bucketsCompleted">Buckets of the range fully processed, counted from the range's first bucket.</param>
    /// <param name="bucketsTotal">Buckets in the range.</param>
    /// <param name="events">Events processed by this run.</param>
    /// <param name="elapsed">Time since this run started.</param>
    /// <param name="estimatedRemaining">The estimated time left, or <see langword="null"/> when there is no estimate yet.</param>
    public ReplayProgress(long bucketsCompleted, long bucketsTotal, long events, TimeSpan elapsed, TimeSpan? estimatedRemaining)
    {
        BucketsCompleted = bucketsCompleted;
        BucketsTotal = bucketsTotal;
        Events = events;
        Elapsed = elapsed;
        EstimatedRemaining = estimatedRemaining;
    }

    /// <summary>Buckets of the range fully processed, counted from the range's first bucket (a resumed replay includes earlier runs).</summary>
    public long BucketsCompleted { get; }

    /// <summary>Buckets in the range, empty ones included.</summary>
    public long BucketsTotal { get; }

    /// <summary>Events processed (delivered, applied or compared) by this run.</summary>
    public long Events { get; }

    /// <summary>Time since this run started, on the system of record's <see cref="TimeProvider"/>.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Events per second over this run so far; 0 before any time has passed.</summary>
    public double EventsPerSecond => Elapsed > TimeSpan.Zero ? Events / Elapsed.TotalSeconds : 0;

    /// <summary>
    /// The estimated time left, from this run's pace through buckets; <see cref="TimeSpan.Zero"/> when done,
    /// <see langword="null"/> before this run completed a bucket.
    /// </summary>
    public TimeSpan? EstimatedRemaining { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{BucketsCompleted}/{BucketsTotal} buckets, {Events} events, {EventsPerSecond:F1} events/s, ETA {(EstimatedRemaining is { } eta ? eta.ToString() : "unknown")}";
}

/// <summary>Builds <see cref="ReplayProgress"/> reports for one run: elapsed time and ETA on a <see cref="TimeProvider"/>.</summary>
internal sealed class ProgressMeter
{
    private readonly IProgress<ReplayProgress>? _progress;
    private readonly TimeProvider _clock;
    private readonly long _startTimestamp;
    private readonly long _bucketsAtStart;
    private long _lastReported = -1;

    public ProgressMeter(IProgress<ReplayProgress>? progress, TimeProvider clock, long bucketsTotal, long bucketsAtStart = 0)
    {
        _progress = progress;
        _clock = clock;
        _startTimestamp = clock.GetTimestamp();
        BucketsTotal = bucketsTotal;
        _bucketsAtStart = bucketsAtStart;
    }

    public long BucketsTotal { get; }

    public TimeSpan Elapsed => _clock.GetElapsedTime(_startTimestamp);

    /// <summary>Reports when the completed bucket count moved on since the last report (or when <paramref name="force"/>).</summary>
    public void Report(long bucketsCompleted, long events, bool force = false)
    {
        if (_progress is null || (!force && bucketsCompleted == _lastReported))
        {
            return;
        }

        _lastReported = bucketsCompleted;
        var elapsed = Elapsed;
        TimeSpan? eta = null;
        var doneThisRun = bucketsCompleted - _bucketsAtStart;
        if (bucketsCompleted >= BucketsTotal)
        {
            eta = TimeSpan.Zero;
        }
        else if (doneThisRun > 0)
        {
            eta = TimeSpan.FromTicks((long)(elapsed.Ticks / (double)doneThisRun * (BucketsTotal - bucketsCompleted)));
        }

        _progress.Report(new ReplayProgress(bucketsCompleted, BucketsTotal, events, elapsed, eta));
    }
}
