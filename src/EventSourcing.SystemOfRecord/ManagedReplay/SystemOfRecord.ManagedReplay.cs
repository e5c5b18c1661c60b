using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

public sealed partial class SystemOfRecord
{
    private readonly ConcurrentDictionary<string, bool> _runningReplays = new(StringComparer.Ordinal);

    /// <summary>
    /// Runs (or resumes) the managed replay <paramref name="name"/>: republishes every stored event of the buckets
    /// <c>b</c> from <c>GetBucket(from)</c> while <c>b &lt; to</c> through the publish pipeline, checkpointing its progress
    /// in the store so that a later call with the same name and range resumes where it stopped. Events are sent in bucket
    /// then event id order with thousands in flight (<see cref="ManagedReplayOptions.MaxParallelism"/> does not apply: the
    /// publisher keeps the send order, and so each key's order); transient failures are retried with backoff; the
    /// checkpoint never passes an event the publisher did not acknowledge.
    /// </summary>
    /// <inheritdoc cref="RunReplayAsync(string, DateTime, DateTime, Func{RecordedEvent, CancellationToken, ValueTask}, ManagedReplayOptions?, IProgress{ReplayProgress}?, CancellationToken)"/>
    public Task<ReplayResult> RunReplayAsync(
        string name,
        DateTime from,
        DateTime to,
        ManagedReplayOptions? options = null,
        IProgress<ReplayProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        RunReplayCoreAsync(name, from, to, null, options, progress, cancellationToken);

    /// <summary>
    /// Runs (or resumes) the managed replay <paramref name="name"/>: hands every stored event of the buckets <c>b</c>
    /// from <c>GetBucket(from)</c> while <c>b &lt; to</c> to <paramref name="target"/>, checkpointing its progress in
    /// the store so that a later call with the same name and range resumes where it stopped.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Order: with <see cref="ManagedReplayOptions.MaxParallelism"/> 1, events are delivered one at a time in bucket
    /// then event id order. With more, events are spread over that many lanes by key; the events of one key are
    /// delivered one at a time in bucket then event id order (also across a stop and resume), events of different keys
    /// in any order, events without a key in any order.
    /// </para>
    /// <para>
    /// Stops: on cancellation the replay stops reading, lets the events already queued to lanes (at most 16 per lane)
    /// finish — their delivery is not cancelled — writes an exact checkpoint and throws
    /// <see cref="OperationCanceledException"/>; resuming delivers nothing twice. When the target throws, the other
    /// lanes are cancelled (through the token the target receives), the checkpoint keeps the longest delivered prefix
    /// and the exception is rethrown; resuming retries the failed event and may deliver again events another lane
    /// finished after it. After a crash, the events delivered since the last checkpoint write
    /// (<see cref="ManagedReplayOptions.CheckpointInterval"/>) are delivered again: downstreams must be idempotent.
    /// </para>
    /// <para>
    /// Each bucket is read when the replay reaches it; an event recorded later into a bucket already passed (a skewed
    /// clock) is not delivered. Run one replay of a name at a time: this instance refuses a second concurrent run, other
    /// processes are not checked. The store must implement <see cref="ICheckpointStore"/>.
    /// </para>
    /// </remarks>
    /// <param name="name">The replay's name: its checkpoint is kept under it. Reuse it to resume; a finished replay run again delivers nothing.</param>
    /// <param name="from">The range start; its bucket is the first one replayed.</param>
    /// <param name="to">The range end, exclusive.</param>
    /// <param name="target">Receives each event; the token it gets is cancelled when another lane failed.</param>
    /// <param name="options">Parallelism, rate limit and checkpoint interval; defaults when null.</param>
    /// <param name="progress">Receives a report when a bucket completes and at the end (when every bucket is done).</param>
    /// <param name="cancellationToken">Stops the replay gracefully at an exact checkpoint.</param>
    /// <returns>What this run did.</returns>
    /// <exception cref="ArgumentNullException">A reference argument is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="name"/> is empty, a time has <see cref="DateTimeKind.Unspecified"/>, <paramref name="from"/> is after
    /// <paramref name="to"/>.
    /// </exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    /// <exception cref="NotSupportedException">The store does not implement <see cref="ICheckpointStore"/>.</exception>
    /// <exception cref="InvalidOperationException">
    /// A replay of that name is running in this instance, or its checkpoint was written for another range.
    /// </exception>
    /// <exception cref="OperationCanceledException">The replay was cancelled; its checkpoint is saved.</exception>
    public Task<ReplayResult> RunReplayAsync(
        string name,
        DateTime from,
        DateTime to,
        Func<RecordedEvent, CancellationToken, ValueTask> target,
        ManagedReplayOptions? options = null,
        IProgress<ReplayProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        return RunReplayCoreAsync(name, from, to, target, options, progress, cancellationToken);
    }

    /// <inheritdoc cref="RunReplayAsync(string, DateTime, DateTime, ManagedReplayOptions?, IProgress{ReplayProgress}?, CancellationToken)"/>
    public Task<ReplayResult> RunReplayAsync(
        string name,
        DateTimeOffset from,
        DateTimeOffset to,
        ManagedReplayOptions? options = null,
        IProgress<ReplayProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        RunReplayAsync(name, from.UtcDateTime, to.UtcDateTime, options, progress, cancellationToken);

    /// <inheritdoc cref="RunReplayAsync(string, DateTime, DateTime, Func{RecordedEvent, CancellationToken, ValueTask}, ManagedReplayOptions?, IProgress{ReplayProgress}?, CancellationToken)"/>
    public Task<ReplayResult> RunReplayAsync(
        string name,
        DateTimeOffset from,
        DateTimeOffset to,
        Func<RecordedEvent, CancellationToken, ValueTask> target,
        ManagedReplayOptions? options = null,
        IProgress<ReplayProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        RunReplayAsync(name, from.UtcDateTime, to.UtcDateTime, target, options, progress, cancellationToken);

    /// <summary>Reads the checkpoint of the managed replay <paramref name="name"/>.</summary>
    /// <param name="name">The replay's name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The checkpoint, or <see langword="null"/> when no replay of that name ever ran.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    /// <exception cref="NotSupportedException">The store does not implement <see cref="ICheckpointStore"/>.</exception>
    /// <exception cref="InvalidOperationException">The value kept under the replay's name is not a checkpoint a managed replay wrote.</exception>
    public async ValueTask<ReplayCheckpoint?> GetReplayCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var checkpoints = CheckpointStore("Managed replays");
        ThrowIfDisposed();
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var value = await checkpoints.ReadCheckpointAsync(ReplayCheckpoint.StorageName(name), cancellationToken).ConfigureAwait(false);
        return value is null ? null : ReplayCheckpoint.Parse(name, value);
    }

    private async Task<ReplayResult> RunReplayCoreAsync(
        string name,
        DateTime from,
        DateTime to,
        Func<RecordedEvent, CancellationToken, ValueTask>? target,
        ManagedReplayOptions? options,
        IProgress<ReplayProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var (first, end) = NormalizeRange(from, to);
        options ??= new ManagedReplayOptions();
        options.ThrowIfInvalid();
        var checkpoints = CheckpointStore("Managed replays");
        ThrowIfDisposed();
        if (!_runningReplays.TryAdd(name, true))
        {
            throw new InvalidOperationException($"Replay '{name}' is already running in this system of record.");
        }

        try
        {
            await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
            using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.managed-replay");
            var started = _timeProvider.GetTimestamp();
            var run = new ManagedReplayRun(Store, checkpoints, target, target is null ? _pipeline.SendAsync : null, options, _timeProvider, name, first, end, _incrementTicks);
            Log.ManagedReplayStarting(_logger, name, first, end, options.MaxParallelism, options.MaxEventsPerSecond);
            bool alreadyComplete;
            try
            {
                alreadyComplete = await run.RunAsync(progress, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _metrics.EventsReplayed.Add(run.Delivered);
                Log.ManagedReplayStopped(_logger, ex, name, run.Delivered, run.State().NextBucket);
                throw;
            }

            _metrics.EventsReplayed.Add(run.Delivered);

            if (alreadyComplete)
            {
                Log.ManagedReplayAlreadyComplete(_logger, name);
            }
            else
            {
                Log.ManagedReplayCompleted(_logger, name, run.Delivered, first, end);
            }

            return new ReplayResult(name, first, end, run.ResumedFrom, run.Delivered, TimeBuckets.Count(first, end, _incrementTicks), _timeProvider.GetElapsedTime(started));
        }
        finally
        {
            _runningReplays.TryRemove(name, out _);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1120, LogLevel.Information, "Managed replay '{Name}' running over buckets {Start:O} to {End:O} (end exclusive), {Lanes} lanes, at most {Rate} events/s.")]
        public static partial void ManagedReplayStarting(ILogger logger, string name, DateTime start, DateTime end, int lanes, double? rate);

        [LoggerMessage(1121, LogLevel.Information, "Managed replay '{Name}' completed: {Events} events delivered by this run, buckets {Start:O} to {End:O}.")]
        public static partial void ManagedReplayCompleted(ILogger logger, string name, long events, DateTime start, DateTime end);

        [LoggerMessage(1122, LogLevel.Warning, "Managed replay '{Name}' stopped after delivering {Events} events; it resumes at bucket {NextBucket:O}.")]
        public static partial void ManagedReplayStopped(ILogger logger, Exception exception, string name, long events, DateTime nextBucket);

        [LoggerMessage(1123, LogLevel.Information, "Managed replay '{Name}' had already completed; nothing to deliver.")]
        public static partial void ManagedReplayAlreadyComplete(ILogger logger, string name);
    }
}
