using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The publish pipeline's health: unhealthy when the oldest unpublished event has waited more than
/// <see cref="PublishRecoveryOptions.UnhealthyLag"/> or when another process took the instance over; degraded while the
/// publisher fails and the pipeline retries, or when events were parked. Register it with
/// <c>services.AddHealthChecks().AddCheck&lt;PublishLagHealthCheck&gt;("publish-lag")</c>.
/// </summary>
public sealed class PublishLagHealthCheck : IHealthCheck
{
    private readonly SystemOfRecord _sor;
    private readonly TimeSpan _unhealthyLag;

    /// <summary>Creates the check.</summary>
    /// <param name="sor">The system of record whose pipeline to watch.</param>
    /// <param name="options">Where <see cref="PublishRecoveryOptions.UnhealthyLag"/> comes from; its default when null.</param>
    public PublishLagHealthCheck(SystemOfRecord sor, IOptions<PublishRecoveryOptions>? options = null)
    {
        ArgumentNullException.ThrowIfNull(sor);
        _sor = sor;
        _unhealthyLag = options?.Value.UnhealthyLag ?? new PublishRecoveryOptions().UnhealthyLag;
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = _sor.GetPublishStatus();
        var data = new Dictionary<string, object>
        {
            ["instance"] = status.InstanceName,
            ["state"] = status.State.ToString(),
            ["cursor"] = status.Cursor.GetTimestamp().UtcDateTime,
            ["lagSeconds"] = status.Lag.TotalSeconds,
            ["inFlight"] = status.InFlight,
            ["backlog"] = status.Backlog,
            ["parked"] = status.Parked,
        };

        var result = status switch
        {
            { State: PublishState.Fenced } => HealthCheckResult.Unhealthy($"Another process took instance '{status.InstanceName}' over; this one no longer publishes.", data: data),
            _ when status.Lag > _unhealthyLag => HealthCheckResult.Unhealthy($"The oldest unpublished event has waited {status.Lag} for the broker (threshold {_unhealthyLag}).", data: data),
            { State: PublishState.Retrying } => HealthCheckResult.Degraded("The publisher is failing; the pipeline retries with backoff.", data: data),
            { Parked: > 0 } => HealthCheckResult.Degraded($"{status.Parked} event(s) were refused for good and parked: see SystemOfRecord.GetParkedEventsAsync.", data: data),
            { State: PublishState.CatchingUp } => HealthCheckResult.Degraded("Catching up on what the last run left unpublished.", data: data),
            _ => HealthCheckResult.Healthy("Every recorded event before the cursor is published.", data),
        };
        return Task.FromResult(result);
    }
}
