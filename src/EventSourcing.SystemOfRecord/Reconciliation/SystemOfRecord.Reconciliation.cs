namespace EventSourcing.SystemOfRecord;

public sealed partial class SystemOfRecord
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
        return await new ReconciliationRun(Store, _timeProvider, _incrementTicks, _logger, _metrics)
            .CompareAsync(first, end, downstreamIdsInBucket, progress, cancellationToken).ConfigureAwait(false);
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
    /// Sends the events a reconciliation found missing to the publisher again, through the publish pipeline, and nothing
    /// else: for each bucket that has missing ids, reads the bucket from the store and publishes those events, in bucket
    /// then event id order, many in flight.
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
        return await new ReconciliationRun(Store, _timeProvider, _incrementTicks, _logger, _metrics).RepairAsync(_pipeline, report, cancellationToken).ConfigureAwait(false);
    }
}
