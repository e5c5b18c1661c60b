using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// One delete + reload: resets a projection, applies the range read straight from the store, then (with catch-up)
/// the events recorded since, until a pass finds nothing new.
/// </summary>
internal sealed partial class ReloadRun(IEventStore store, TimeProvider clock, long incrementTicks, ILogger logger, SystemOfRecordMetrics metrics)
{
    public async Task<ReloadResult> RunAsync(
        IReloadableProjection projection,
        DateTime first,
        DateTime end,
        ReloadOptions? options,
        IProgress<ReplayProgress>? progress,
        CancellationToken cancellationToken)
    {
        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.reload");
        var meter = new ProgressMeter(progress, clock, TimeBuckets.Count(first, end, incrementTicks));
        Log.ReloadStarted(logger, first, end, projection.GetType().Name);

        await projection.ResetAsync(cancellationToken).ConfigureAwait(false);

        // The ids delivered from the newest bucket seen: a catch-up pass re-reads that bucket and skips them.
        var cursor = new ReloadCursor(first);
        long rangeEvents = 0;
        await foreach (var recorded in store.ReadRangeAsync(first, end, cancellationToken).ConfigureAwait(false))
        {
            if (cursor.MoveTo(recorded.TimeBucket))
            {
                meter.Report(TimeBuckets.Count(first, recorded.TimeBucket, incrementTicks), rangeEvents);
            }

            await projection.ApplyAsync(recorded, cancellationToken).ConfigureAwait(false);
            cursor.Delivered(recorded.EventId);
            rangeEvents++;
        }

        meter.Report(meter.BucketsTotal, rangeEvents, force: true);

        long catchUpEvents = 0;
        var passes = 0;
        var caughtUp = false;
        if (options is { CatchUp: true })
        {
            while (passes < options.MaxCatchUpPasses)
            {
                passes++;
                var now = TimeBuckets.Floor(clock.GetUtcNow().UtcDateTime, incrementTicks).AddTicks(incrementTicks);
                long fresh = 0;
                await foreach (var recorded in store.ReadRangeAsync(cursor.Bucket, now, cancellationToken).ConfigureAwait(false))
                {
                    if (!cursor.MoveTo(recorded.TimeBucket) && cursor.WasDelivered(recorded.EventId))
                    {
                        continue;
                    }

                    await projection.ApplyAsync(recorded, cancellationToken).ConfigureAwait(false);
                    cursor.Delivered(recorded.EventId);
                    fresh++;
                }

                catchUpEvents += fresh;
                if (fresh == 0)
                {
                    caughtUp = true;
                    break;
                }
            }

            meter.Report(meter.BucketsTotal, rangeEvents + catchUpEvents, force: true);
        }

        metrics.EventsReloaded.Add(rangeEvents + catchUpEvents);
        Log.ReloadCompleted(logger, rangeEvents, catchUpEvents, passes, first, end);
        return new ReloadResult(rangeEvents, catchUpEvents, passes, caughtUp);
    }

    /// <summary>The newest bucket a reload delivered from and the ids it delivered there.</summary>
    private sealed class ReloadCursor(DateTime start)
    {
        private readonly HashSet<TimeUuid> _delivered = [];

        public DateTime Bucket { get; private set; } = start;

        /// <summary>Moves to <paramref name="bucket"/>; <see langword="true"/> when it is a newer bucket (the ids seen are forgotten).</summary>
        public bool MoveTo(DateTime bucket)
        {
            if (bucket == Bucket)
            {
                return false;
            }

            Bucket = bucket;
            _delivered.Clear();
            return true;
        }

        public void Delivered(TimeUuid id) => _delivered.Add(id);

        public bool WasDelivered(TimeUuid id) => _delivered.Contains(id);
    }

    private static partial class Log
    {
        [LoggerMessage(1100, LogLevel.Information, "Reloading {Projection} from buckets {Start:O} to {End:O} (end exclusive).")]
        public static partial void ReloadStarted(ILogger logger, DateTime start, DateTime end, string projection);

        [LoggerMessage(1101, LogLevel.Information, "Reload applied {RangeEvents} events of buckets {Start:O} to {End:O} and {CatchUpEvents} more in {Passes} catch-up passes.")]
        public static partial void ReloadCompleted(ILogger logger, long rangeEvents, long catchUpEvents, int passes, DateTime start, DateTime end);
    }
}
