using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// One reconciliation: compares, bucket by bucket, the ids the store holds with those a downstream reports, and sends
/// exactly the missing events again through the publish pipeline when asked to repair.
/// </summary>
internal sealed partial class ReconciliationRun(IEventStore store, TimeProvider clock, long incrementTicks, ILogger logger, SystemOfRecordMetrics metrics)
{
    public async Task<ReconciliationReport> CompareAsync(
        DateTime first,
        DateTime end,
        Func<DateTime, CancellationToken, IAsyncEnumerable<TimeUuid>> downstreamIdsInBucket,
        IProgress<ReplayProgress>? progress,
        CancellationToken cancellationToken)
    {
        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.reconcile");
        var meter = new ProgressMeter(progress, clock, TimeBuckets.Count(first, end, incrementTicks));
        var differences = new List<BucketDifference>();
        var stored = new List<TimeUuid>();
        var storedSet = new HashSet<TimeUuid>();
        var seen = new HashSet<TimeUuid>();
        var unexpected = new HashSet<TimeUuid>();
        long buckets = 0, storedEvents = 0, downstreamEvents = 0;
        for (DateTime? next = first; next is { } bucket && bucket < end; next = TimeBuckets.Next(bucket, incrementTicks))
        {
            stored.Clear();
            storedSet.Clear();
            seen.Clear();
            unexpected.Clear();
            await foreach (var recorded in store.ReadBucketAsync(bucket, cancellationToken).ConfigureAwait(false))
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
                Log.BucketDiffers(logger, bucket, missing.Length, extra.Length);
            }

            if (stored.Count > 0 || unexpected.Count > 0)
            {
                meter.Report(buckets, storedEvents); // empty buckets (most of a long range) go unreported
            }
        }

        meter.Report(meter.BucketsTotal, storedEvents, force: true);
        var report = new ReconciliationReport(first, end, buckets, storedEvents, downstreamEvents, differences);
        metrics.MissingFound.Add(report.MissingCount);
        metrics.UnexpectedFound.Add(report.UnexpectedCount);
        Log.ReconcileCompleted(logger, buckets, first, end, report.MissingCount, report.UnexpectedCount);
        return report;
    }

    /// <summary>Sends the events <paramref name="report"/> found missing, and nothing else, in bucket then event id order.</summary>
    public async Task<long> RepairAsync(PublishPipeline pipeline, ReconciliationReport report, CancellationToken cancellationToken)
    {
        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.republish-missing");
        var published = await Republisher.RepublishAsync(pipeline, MissingEventsAsync(report, cancellationToken), cancellationToken).ConfigureAwait(false);
        Log.RepublishedMissing(logger, published, report.MissingCount);
        return published;
    }

    private async IAsyncEnumerable<RecordedEvent> MissingEventsAsync(ReconciliationReport report, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var wanted = new HashSet<TimeUuid>();
        foreach (var difference in report.Differences)
        {
            if (difference.Missing.Count == 0)
            {
                continue;
            }

            wanted.Clear();
            wanted.UnionWith(difference.Missing);
            await foreach (var recorded in store.ReadBucketAsync(difference.Bucket, cancellationToken).ConfigureAwait(false))
            {
                if (wanted.Remove(recorded.EventId))
                {
                    yield return recorded;
                    if (wanted.Count == 0)
                    {
                        break;
                    }
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1110, LogLevel.Warning, "Bucket {Bucket:O}: the downstream lacks {Missing} stored events and holds {Unexpected} ids the store does not.")]
        public static partial void BucketDiffers(ILogger logger, DateTime bucket, int missing, int unexpected);

        [LoggerMessage(1111, LogLevel.Information, "Reconciled {Buckets} buckets from {Start:O} to {End:O}: {Missing} missing downstream, {Unexpected} unexpected.")]
        public static partial void ReconcileCompleted(ILogger logger, long buckets, DateTime start, DateTime end, long missing, long unexpected);

        [LoggerMessage(1112, LogLevel.Information, "Republished {Published} of the {Missing} events a reconciliation found missing.")]
        public static partial void RepublishedMissing(ILogger logger, long published, long missing);
    }
}
