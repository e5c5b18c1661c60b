using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

public partial class SystemOfRecord
{
    /// <summary>
    /// Compares, bucket by bucket, the event ids the store holds with the ids a downstream reports, for every bucket
    /// <c>b</c> from <c>GetBucket(from)</c> while <c>b &lt; to</c>, and reports the differences.
    /// </summary>
    /// <remarks>
    /// Streams: memory holds one bucket's ids plus the differences found. <paramref name="downstreamIdsInBucket"/> is
    /// called once per bucket, empty buckets included, with the bucket start; it must yield the ids of the events the
    /// downstream holds whose bucket (the floor of the id's timestamp, see <see cref="GetBucket(DateTimeOffset)"/>) is
    /// that bucket, in any order; duplicates are ignored. Events recorded while the comparison runs can show up as
    /// missing (or unexpected, when the downstream is ahead of the read); compare a range that is no longer written to,
    /// or reconcile again.
    /// </remarks>
    /// <param name="from">The range start; its bucket is the first one compared.</param>
    /// <param name="to">The range end, exclusive.</param>
    /// <param name="downstreamIdsInBucket">The downstream's ids of one bucket.</param>
    /// <param name="progress">Receives a report when a bucket that holds events (in the store or downstream) completes, and at the end.</param>
    /// <param name="cancellationToken">Stops the comparison.</param>
    /// <returns>The differences, per bucket, with totals.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="downstreamIdsInBucket"/> is null.</exception>
    /// <exception cref="ArgumentException">A time has <see cref="DateTimeKind.Unspecified"/>, or <paramref name="from"/> is after <paramref name="to"/>.</exception>
    public async Task<ReconciliationReport> ReconcileAsync(
        DateTime from,
        DateTime to,
        Func<DateTime, CancellationToken, IAsyncEnumerable<TimeUuid>> downstreamIdsInBucket,
        IProgress<ReplayProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(downstreamIdsInBucket);
        var (first, end) = NormalizeRange(from, to);
        ThrowIfDisposed();
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);

        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.reconcile");
        var meter = new ProgressMeter(progress, _timeProvider, TimeBuckets.Count(first, end, _incrementTicks));
        var differences = new List<BucketDifference>();
        var stored = new List<TimeUuid>();
        var storedSet = new HashSet<TimeUuid>();
        var seen = new HashSet<TimeUuid>();
        var unexpected = new HashSet<TimeUuid>();
        long buckets = 0, storedEvents = 0, downstreamEvents = 0;
        for (var bucket = first; bucket < end; bucket = bucket.AddTicks(_incrementTicks))
        {
            stored.Clear();
            storedSet.Clear();
            seen.Clear();
            unexpected.Clear();
            await foreach (var recorded in Store.ReadBucketAsync(bucket, cancellationToken).ConfigureAwait(false))
            {
                if (storedSet.Add(recorded.EventId))
                {
                    stored.Add(recorded.EventId);
                }
            }

            var downstream = downstreamIdsInBucket(bucket, cancellationToken)
                ?? throw new InvalidOperationException($"The downstream returned no id sequence (null) for bucket {bucket:O}.");
            await foreach (var id in downstream.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (storedSet.Contains(id))
                {
                    seen.Add(id);
                }
                else
                {
                    unexpected.Add(id);
                }
            }

            storedEvents += stored.Count;
            downstreamEvents += seen.Count + unexpected.Count;
            buckets++;
            if (seen.Count != stored.Count || unexpected.Count > 0)
            {
                var missing = stored.Where(id => !seen.Contains(id)).ToArray();
                var extra = unexpected.ToArray();
                Array.Sort(extra);
                differences.Add(new BucketDifference(bucket, missing, extra));
                Log.BucketDiffers(_logger, bucket, missing.Length, extra.Length);
            }

            if (stored.Count > 0 || unexpected.Count > 0)
            {
                meter.Report(buckets, storedEvents); // empty buckets (most of a long range) go unreported
            }
        }

        meter.Report(meter.BucketsTotal, storedEvents, force: true);
        var report = new ReconciliationReport(first, end, buckets, storedEvents, downstreamEvents, differences);
        ReplayDiagnostics.MissingFound.Add(report.MissingCount);
        ReplayDiagnostics.UnexpectedFound.Add(report.UnexpectedCount);
        Log.ReconcileCompleted(_logger, buckets, first, end, report.MissingCount, report.UnexpectedCount);
        return report;
    }

    /// <inheritdoc cref="ReconcileAsync(DateTime, DateTime, Func{DateTime, CancellationToken, IAsyncEnumerable{TimeUuid}}, IProgress{ReplayProgress}?, CancellationToken)"/>
    public Task<ReconciliationReport> ReconcileAsync(
        DateTimeOffset from,
        DateTimeOffset to,
        Func<DateTime, CancellationToken, IAsyncEnumerable<TimeUuid>> downstreamIdsInBucket,
        IProgress<ReplayProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        ReconcileAsync(from.UtcDateTime, to.UtcDateTime, downstreamIdsInBucket, progress, cancellationToken);

    /// <summary>
    /// Sends the events a reconciliation found missing to the publisher again, and nothing else: for each bucket that
    /// has missing ids, reads the bucket from the store and publishes those events, in bucket then event id order,
    /// one at a time.
    /// </summary>
    /// <remarks>A missing id no longer in the store (removed since the comparison) is skipped and not counted.</remarks>
    /// <param name="report">A report from <see cref="ReconcileAsync(DateTime, DateTime, Func{DateTime, CancellationToken, IAsyncEnumerable{TimeUuid}}, IProgress{ReplayProgress}?, CancellationToken)"/>.</param>
    /// <param name="cancellationToken">Stops the republish; events already published stay published.</param>
    /// <returns>How many events were published.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="report"/> is null.</exception>
    public async Task<long> RepublishAsync(ReconciliationReport report, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        ThrowIfDisposed();
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);

        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.republish-missing");
        long published = 0;
        var wanted = new HashSet<TimeUuid>();
        foreach (var difference in report.Differences)
        {
            if (difference.Missing.Count == 0)
            {
                continue;
            }

            wanted.Clear();
            wanted.UnionWith(difference.Missing);
            await foreach (var recorded in Store.ReadBucketAsync(difference.Bucket, cancellationToken).ConfigureAwait(false))
            {
                if (!wanted.Remove(recorded.EventId))
                {
                    continue;
                }

                await Publisher.PublishAsync(recorded, cancellationToken).ConfigureAwait(false);
                published++;
                if (wanted.Count == 0)
                {
                    break;
                }
            }
        }

        SystemOfRecordDiagnostics.EventsPublished.Add(published);
        Log.RepublishedMissing(_logger, published, report.MissingCount);
        return published;
    }

    private static partial class Log
    {
        [LoggerMessage(110, LogLevel.Warning, "Bucket {Bucket:O}: the downstream lacks {Missing} stored events and holds {Unexpected} ids the store does not.")]
        public static partial void BucketDiffers(ILogger logger, DateTime bucket, int missing, int unexpected);

        [LoggerMessage(111, LogLevel.Information, "Reconciled {Buckets} buckets from {Start:O} to {End:O}: {Missing} missing downstream, {Unexpected} unexpected.")]
        public static partial void ReconcileCompleted(ILogger logger, long buckets, DateTime start, DateTime end, long missing, long unexpected);

        [LoggerMessage(112, LogLevel.Information, "Republished {Published} of the {Missing} events a reconciliation found missing.")]
        public static partial void RepublishedMissing(ILogger logger, long published, long missing);
    }
}
