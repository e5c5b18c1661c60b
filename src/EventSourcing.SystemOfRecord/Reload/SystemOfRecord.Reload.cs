using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

public partial class SystemOfRecord
{
    /// <summary>
    /// Delete + reload: resets <paramref name="projection"/>, then applies every stored event of the buckets
    /// <c>b</c> from <c>GetBucket(from)</c> while <c>b &lt; to</c>, one at a time, in bucket then event id order,
    /// read straight from the store (no broker). With <see cref="ReloadOptions.CatchUp"/>, then applies the events
    /// recorded since, until a pass finds nothing new.
    /// </summary>
    /// <remarks>
    /// The projection is empty from the reset until the reload returns: readers of it see partial data in
    /// between (plan for that downtime, or rebuild into a fresh copy and swap). Streams bucket by bucket: memory
    /// holds one bucket's event ids at most. A catch-up pass reads from the last bucket delivered to the bucket of this
    /// instance's clock, so an event another instance's skewed clock writes into an earlier (or a future) bucket during
    /// the reload is not seen; reconcile afterwards to find it.
    /// </remarks>
    /// <param name="projection">The projection to rebuild.</param>
    /// <param name="from">The range start; its bucket is the first one read.</param>
    /// <param name="to">The range end, exclusive: a bucket that starts at <paramref name="to"/> is not read by the range pass.</param>
    /// <param name="options">Catch-up settings; none when null.</param>
    /// <param name="progress">Receives a report when a bucket of the range completes and at the end.</param>
    /// <param name="cancellationToken">Stops the reload; the projection is then partly rebuilt.</param>
    /// <returns>How many events were applied.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="projection"/> is null.</exception>
    /// <exception cref="ArgumentException">A time has <see cref="DateTimeKind.Unspecified"/>, <paramref name="from"/> is after <paramref name="to"/>, or the options are invalid.</exception>
    public async Task<ReloadResult> ReloadAsync(
        IReloadableProjection projection,
        DateTime from,
        DateTime to,
        ReloadOptions? options = null,
        IProgress<ReplayProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(projection);
        var (first, end) = NormalizeRange(from, to);
        options?.ThrowIfInvalid();
        ThrowIfDisposed();
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);

        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.reload");
        var meter = new ProgressMeter(progress, _timeProvider, TimeBuckets.Count(first, end, _incrementTicks));
        Log.ReloadStarted(_logger, first, end, projection.GetType().Name);

        await projection.ResetAsync(cancellationToken).ConfigureAwait(false);

        // The ids delivered from the newest bucket seen: a catch-up pass re-reads that bucket and skips them.
        var cursor = new ReloadCursor(first);
        long rangeEvents = 0;
        await foreach (var recorded in Store.ReadRangeAsync(first, end, cancellationToken).ConfigureAwait(false))
        {
            if (cursor.MoveTo(recorded.TimeBucket))
            {
                meter.Report(TimeBuckets.Count(first, recorded.TimeBucket, _incrementTicks), rangeEvents);
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
                var now = TimeBuckets.Floor(_timeProvider.GetUtcNow().UtcDateTime, _incrementTicks).AddTicks(_incrementTicks);
                long fresh = 0;
                await foreach (var recorded in Store.ReadRangeAsync(cursor.Bucket, now, cancellationToken).ConfigureAwait(false))
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

        ReplayDiagnostics.EventsReloaded.Add(rangeEvents + catchUpEvents);
        Log.ReloadCompleted(_logger, rangeEvents, catchUpEvents, passes, first, end);
        return new ReloadResult(rangeEvents, catchUpEvents, passes, caughtUp);
    }

    /// <inheritdoc cref="ReloadAsync(IReloadableProjection, DateTime, DateTime, ReloadOptions?, IProgress{ReplayProgress}?, CancellationToken)"/>
    public Task<ReloadResult> ReloadAsync(
        IReloadableProjection projection,
        DateTimeOffset from,
        DateTimeOffset to,
        ReloadOptions? options = null,
        IProgress<ReplayProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        ReloadAsync(projection, from.UtcDateTime, to.UtcDateTime, options, progress, cancellationToken);

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
        [LoggerMessage(100, LogLevel.Information, "Reloading {Projection} from buckets {Start:O} to {End:O} (end exclusive).")]
        public static partial void ReloadStarted(ILogger logger, DateTime start, DateTime end, string projection);

        [LoggerMessage(101, LogLevel.Information, "Reload applied {RangeEvents} events of buckets {Start:O} to {End:O} and {CatchUpEvents} more in {Passes} catch-up passes.")]
        public static partial void ReloadCompleted(ILogger logger, long rangeEvents, long catchUpEvents, int passes, DateTime start, DateTime end);
    }
}
