using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Healthy when the system of record's store answers: it is initialized (schema in place, bucket increment agreed) and
/// a read of one bucket completes. Unhealthy with the store's error otherwise. The data holds the round trip time.
/// Register it with <c>services.AddHealthChecks().AddCheck&lt;EventStoreHealthCheck&gt;("sor-store")</c>, with a
/// timeout on the registration: a store that hangs makes the check hang until then.
/// </summary>
public sealed class EventStoreHealthCheck : IHealthCheck
{
    private readonly SystemOfRecord _sor;

    internal EventStoreHealthCheck(SystemOfRecord sor) => _sor = sor;

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            // The epoch's bucket: a real query that finds nothing in a live store.
            await foreach (var _ in _sor.ReadBucketAsync(DateTime.UnixEpoch, cancellationToken).ConfigureAwait(false))
            {
                break;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"The store ({_sor.Store.GetType().Name}) did not answer: {ex.Message}", ex);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        return HealthCheckResult.Healthy(
            $"The store ({_sor.Store.GetType().Name}) answered in {elapsed.TotalMilliseconds:F0} ms.",
            new Dictionary<string, object> { ["roundTripMilliseconds"] = elapsed.TotalMilliseconds });
    }
}
