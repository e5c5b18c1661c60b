using System.Diagnostics;

namespace EventSourcing.SystemOfRecord;

public sealed partial class SystemOfRecord
{
    /// <summary>
    /// Calls the replay strategy with the start of each bucket <c>b</c> from <c>GetBucket(start)</c> while <c>b &lt; end</c>,
    /// ascending. A bucket that starts at <paramref name="end"/> is not replayed; the bucket holding an unaligned end is.
    /// Without a custom strategy, republishes every stored event of those buckets through the publish pipeline.
    /// </summary>
    /// <exception cref="ArgumentException">A time has <see cref="DateTimeKind.Unspecified"/>, or <paramref name="start"/> is after <paramref name="end"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The first bucket would start before <see cref="DateTime.MinValue"/>.</exception>
    public void ReplayDateRange(DateTime start, DateTime end)
    {
        var (first, last) = NormalizeRange(start, end);
        if (_replayBucketStrategy is null)
        {
            RepublishAsync(first, last, CancellationToken.None).GetAwaiter().GetResult();
            return;
        }

        ThrowIfDisposed();
        Log.ReplayStarted(_logger, first, last, "the custom strategy");
        long buckets = 0;
        for (DateTime? bucket = first; bucket < last; bucket = TimeBuckets.Next(bucket.Value, _incrementTicks))
        {
            _replayBucketStrategy(bucket.Value);
            buckets++;
        }

        _metrics.BucketsReplayed.Add(buckets);
        Log.ReplayCompleted(_logger, buckets, first, last);
    }

    /// <inheritdoc cref="ReplayDateRange(DateTime, DateTime)"/>
    public void ReplayDateRange(DateTimeOffset start, DateTimeOffset end) => ReplayDateRange(start.UtcDateTime, end.UtcDateTime);

    /// <summary>
    /// Calls <paramref name="strategy"/> with the start of each bucket <c>b</c> from <c>GetBucket(start)</c> while <c>b &lt; end</c>,
    /// ascending, one bucket at a time.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="strategy"/> is null.</exception>
    /// <exception cref="ArgumentException">A time has <see cref="DateTimeKind.Unspecified"/>, or <paramref name="start"/> is after <paramref name="end"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The first bucket would start before <see cref="DateTime.MinValue"/>.</exception>
    public async Task ReplayDateRangeAsync(DateTime start, DateTime end, Func<DateTime, CancellationToken, ValueTask> strategy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        var (first, last) = NormalizeRange(start, end);
        ThrowIfDisposed();
        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.replay");
        Log.ReplayStarted(_logger, first, last, "a strategy");
        long buckets = 0;
        for (DateTime? bucket = first; bucket < last; bucket = TimeBuckets.Next(bucket.Value, _incrementTicks))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await strategy(bucket.Value, cancellationToken).ConfigureAwait(false);
            buckets++;
        }

        _metrics.BucketsReplayed.Add(buckets);
        Log.ReplayCompleted(_logger, buckets, first, last);
    }

    /// <inheritdoc cref="ReplayDateRangeAsync(DateTime, DateTime, Func{DateTime, CancellationToken, ValueTask}, CancellationToken)"/>
    public Task ReplayDateRangeAsync(DateTimeOffset start, DateTimeOffset end, Func<DateTime, CancellationToken, ValueTask> strategy, CancellationToken cancellationToken = default) =>
        ReplayDateRangeAsync(start.UtcDateTime, end.UtcDateTime, strategy, cancellationToken);

    /// <summary>
    /// Sends every stored event of every bucket in the range to the publisher again, through the publish pipeline, in
    /// bucket and event id order. Streams: memory stays flat however large the range. Many sends are in flight at once;
    /// transient failures are retried with backoff (until <paramref name="cancellationToken"/>), a refusal for good throws.
    /// </summary>
    /// <returns>How many events were republished.</returns>
    /// <exception cref="ArgumentException">A time has <see cref="DateTimeKind.Unspecified"/>, or <paramref name="start"/> is after <paramref name="end"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The first bucket would start before <see cref="DateTime.MinValue"/>.</exception>
    public Task<long> RepublishDateRangeAsync(DateTime start, DateTime end, CancellationToken cancellationToken = default)
    {
        var (first, last) = NormalizeRange(start, end);
        ThrowIfDisposed();
        return RepublishAsync(first, last, cancellationToken);
    }

    /// <inheritdoc cref="RepublishDateRangeAsync(DateTime, DateTime, CancellationToken)"/>
    public Task<long> RepublishDateRangeAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default) =>
        RepublishDateRangeAsync(start.UtcDateTime, end.UtcDateTime, cancellationToken);

    private async Task<long> RepublishAsync(DateTime first, DateTime end, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.republish", ActivityKind.Internal);
        Log.ReplayStarted(_logger, first, end, "republish");
        var count = await Republisher.RepublishAsync(_pipeline, Store.ReadRangeAsync(first, end, cancellationToken), cancellationToken).ConfigureAwait(false);
        Log.RepublishCompleted(_logger, count, first, end);
        return count;
    }
}
