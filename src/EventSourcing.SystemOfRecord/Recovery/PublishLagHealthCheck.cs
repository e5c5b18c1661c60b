using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Unhealthy when the publish watermark lags more than <see cref="PublishRecoveryOptions.UnhealthyLag"/> behind now
/// (recorded events have waited that long for the broker); degraded while any bucket waits for recovery.
/// Register it with <c>services.AddHealthChecks().AddCheck&lt;PublishLagHealthCheck&gt;("publish-lag")</c>
/// after <c>WithPublishRecovery()</c>.
/// </summary>
public sealed class PublishLagHealthCheck : IHealthCheck
{
    private readonly PublishTracker _tracker;
    private readonly SystemOfRecord _sor;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _unhealthyLag;

    internal PublishLagHealthCheck(PublishTracker tracker, SystemOfRecord sor, IOptions<PublishRecoveryOptions> options, TimeProvider timeProvider)
    {
        _tracker = tracker;
        _sor = sor;
        _timeProvider = timeProvider;
        _unhealthyLag = options.Value.UnhealthyLag;
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = _timeProvider.GetUtcNow();
        var watermark = _tracker.Watermark(now, _sor.BucketIncrement.Ticks);
        var lag = now.UtcDateTime - watermark;
        var deferred = _tracker.DeferredCount;
        var data = new Dictionary<string, object>
        {
            ["watermark"] = watermark,
            ["lagSeconds"] = lag.TotalSeconds,
            ["deferredBuckets"] = deferred,
        };

        var result = lag > _unhealthyLag
            ? HealthCheckResult.Unhealthy($"Recorded events have waited {lag} for the broker (threshold {_unhealthyLag}).", data: data)
            : deferred > 0
                ? HealthCheckResult.Degraded($"{deferred} bucket(s) wait for publish recovery.", data: data)
                : HealthCheckResult.Healthy("Every recorded event before the watermark is published.", data);
        return Task.FromResult(result);
    }
}
