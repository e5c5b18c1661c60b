namespace EventSourcing.SystemOfRecord;

public sealed partial class SystemOfRecord
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
    /// <exception cref="ArgumentException">A time has <see cref="DateTimeKind.Unspecified"/>, or <paramref name="from"/> is after <paramref name="to"/>.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
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
        return await new ReloadRun(Store, _timeProvider, _incrementTicks, _logger, _metrics)
            .RunAsync(projection, first, end, options, progress, cancellationToken).ConfigureAwait(false);
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
}
