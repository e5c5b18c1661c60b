using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Makes every event this instance recorded reach the publisher at least once. At start it republishes every bucket
/// from the persisted publish watermark on (what a crash between store write and publish may have left unpublished);
/// then, every <see cref="PublishRecoveryOptions.RecoveryInterval"/>, it republishes the buckets whose publish failed
/// (with retries and backoff) and moves the persisted watermark forward.
/// </summary>
internal sealed partial class PublishRecoveryService : BackgroundService
{
    private static readonly ConcurrentDictionary<PublishRecoveryService, byte> Running = new();

    private readonly SystemOfRecord _sor;
    private readonly PublishTracker _tracker;
    private readonly PublishRecoveryOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _republish;
    private (DateTime From, DateTime To)? _startupRange;
    private DateTime? _persisted;

    static PublishRecoveryService()
    {
        SystemOfRecordDiagnostics.Meter.CreateObservableGauge(
            "sor.publish.deferred_buckets",
            () => Running.Keys.Select(s => new Measurement<int>(s._tracker.DeferredCount, s.InstanceTag)),
            "{bucket}",
            "Buckets holding a recorded event whose publish failed, waiting for recovery.");
        SystemOfRecordDiagnostics.Meter.CreateObservableGauge(
            "sor.publish.watermark_lag",
            () => Running.Keys.Select(s => new Measurement<double>(s.Lag.TotalSeconds, s.InstanceTag)),
            "s",
            "Now minus the publish watermark: how far back an event may still be unpublished.");
    }

    public PublishRecoveryService(SystemOfRecord sor, PublishTracker tracker, IOptions<PublishRecoveryOptions> options, TimeProvider timeProvider, ILogger<PublishRecoveryService>? logger = null)
    {
        _sor = sor;
        _tracker = tracker;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _republish = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 3,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
            })
            .AddTimeout(_options.RecoveryAttemptTimeout)
            .Build();
    }

    /// <summary>Now minus the in-memory watermark.</summary>
    internal TimeSpan Lag
    {
        get
        {
            var now = _timeProvider.GetUtcNow();
            return now.UtcDateTime - _tracker.Watermark(now, _sor.BucketIncrement.Ticks);
        }
    }

    private KeyValuePair<string, object?> InstanceTag => new("sor.instance", _options.InstanceName);

    private ICheckpointStore Checkpoints => _sor.Store as ICheckpointStore
        ?? throw new InvalidOperationException(
            $"Publish recovery keeps its watermark in the store, but {_sor.Store.GetType().Name} does not implement ICheckpointStore.");

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await PrepareAsync(cancellationToken).ConfigureAwait(false);
        Running.TryAdd(this, 0);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the persisted watermark and schedules the start-up recovery; fails clearly on a store without checkpoints.</summary>
    internal async Task PrepareAsync(CancellationToken cancellationToken)
    {
        _ = Checkpoints;
        await _sor.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var stored = await Checkpoints.ReadCheckpointAsync(_options.CheckpointName, cancellationToken).ConfigureAwait(false);
        if (stored is not null && DateTime.TryParse(stored, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var watermark))
        {
            // What this instance recorded since the watermark may have died unpublished with the last process.
            var end = _sor.GetBucket(_timeProvider.GetUtcNow()).AddTicks(_sor.BucketIncrement.Ticks);
            _startupRange = (watermark, end);
            _persisted = watermark;
            _tracker.BeginRecovery(watermark);
            Log.StartupRecoveryScheduled(_logger, _options.InstanceName, watermark, end);
        }
        else
        {
            // First start under this name: persist a watermark now, so a crash before the first round still
            // leaves a point that the next start republishes from.
            await PersistWatermarkAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await base.StopAsync(cancellationToken).ConfigureAwait(false);
            await PersistWatermarkAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Running.TryRemove(this, out _);
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                await Task.Delay(_options.RecoveryInterval, _timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store itself failing (watermark write): keep going, the next round tries again.
                Log.RoundFailed(_logger, ex);
                await Task.Delay(_options.RecoveryInterval, _timeProvider, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One round: the start-up range, then every deferred bucket, then the watermark.</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        if (_startupRange is { } range && await TryRepublishAsync(range.From, range.To, cancellationToken).ConfigureAwait(false))
        {
            _startupRange = null;
            _tracker.RecoveryCompleted();
        }

        while (_tracker.TryTakeDeferred(out var bucket))
        {
            if (!await TryRepublishAsync(bucket, bucket.AddTicks(_sor.BucketIncrement.Ticks), cancellationToken).ConfigureAwait(false))
            {
                _tracker.Defer(bucket); // the publisher is still failing: wait for the next round
                break;
            }

            _tracker.Release(bucket);
        }

        await PersistWatermarkAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> TryRepublishAsync(DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        try
        {
            var count = await _republish.ExecuteAsync(
                static async (state, ct) => await state.Sor.RepublishCoreAsync(state.From, state.To, ct).ConfigureAwait(false),
                (Sor: _sor, From: from, To: to),
                cancellationToken).ConfigureAwait(false);
            SystemOfRecordDiagnostics.BucketsRecovered.Add(TimeBuckets.Count(from, to, _sor.BucketIncrement.Ticks));
            Log.Recovered(_logger, count, from, to);
            return true;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.RecoveryFailed(_logger, ex, from, to);
            return false;
        }
    }

    private async Task PersistWatermarkAsync(CancellationToken cancellationToken)
    {
        var watermark = _tracker.Watermark(_timeProvider.GetUtcNow(), _sor.BucketIncrement.Ticks);
        if (_persisted is { } persisted && watermark <= persisted)
        {
            return;
        }

        await Checkpoints.WriteCheckpointAsync(_options.CheckpointName, watermark.ToString("O", CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        _persisted = watermark;
    }

    private static partial class Log
    {
        [LoggerMessage(300, LogLevel.Information, "Publish recovery for instance {Instance}: republishing buckets {From:O} to {To:O}, which the last run may have left unpublished.")]
        public static partial void StartupRecoveryScheduled(ILogger logger, string instance, DateTime from, DateTime to);

        [LoggerMessage(301, LogLevel.Information, "Publish recovery republished {Events} events of buckets {From:O} to {To:O}.")]
        public static partial void Recovered(ILogger logger, long events, DateTime from, DateTime to);

        [LoggerMessage(302, LogLevel.Warning, "Publish recovery could not republish buckets {From:O} to {To:O}; it tries again next round.")]
        public static partial void RecoveryFailed(ILogger logger, Exception exception, DateTime from, DateTime to);

        [LoggerMessage(303, LogLevel.Error, "A publish recovery round failed; the next round tries again.")]
        public static partial void RoundFailed(ILogger logger, Exception exception);
    }
}
