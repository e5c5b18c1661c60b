using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// The health of every Kafka event consumer of the application: Unhealthy when one has stopped (a poison record or a
/// failed event under a Stop policy, a fatal Kafka error, or the host stopping it); Degraded while one has not started
/// or lags more than its <see cref="KafkaConsumerOptions.MaxHealthyLag"/> records; Healthy otherwise. The data holds
/// each consumer's lag, handled and dead-lettered counts, by <c>topic/group</c>.
/// Register it with <c>services.AddHealthChecks().AddCheck&lt;KafkaEventConsumerHealthCheck&gt;("kafka-consumers")</c>.
/// </summary>
public sealed class KafkaEventConsumerHealthCheck : IHealthCheck
{
    private readonly IReadOnlyList<KafkaEventConsumerService> _consumers;

    internal KafkaEventConsumerHealthCheck(IReadOnlyList<KafkaEventConsumerService> consumers) => _consumers = consumers;

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var stopped = new List<string>();
        var degraded = new List<string>();
        foreach (var consumer in _consumers)
        {
            var name = $"{consumer.Topic}/{consumer.GroupId}";
            data[name + ".lag"] = consumer.Lag;
            data[name + ".handled"] = consumer.HandledCount;
            data[name + ".deadLettered"] = consumer.DeadLetteredCount;
            switch (consumer.ExecuteTask)
            {
                case null:
                    degraded.Add($"{name} has not started");
                    break;
                case { IsCompleted: true } task:
                    stopped.Add($"{name} has stopped" + (task.Exception?.InnerException is { } failure ? $": {failure.Message}" : "."));
                    break;
                default:
                    if (consumer.Lag > consumer.MaxHealthyLag)
                    {
                        degraded.Add($"{name} lags {consumer.Lag} records (more than {consumer.MaxHealthyLag})");
                    }

                    break;
            }
        }

        var result = stopped.Count > 0
            ? HealthCheckResult.Unhealthy(string.Join("; ", stopped.Concat(degraded)), data: data)
            : degraded.Count > 0
                ? HealthCheckResult.Degraded(string.Join("; ", degraded), data: data)
                : HealthCheckResult.Healthy($"{_consumers.Count} Kafka consumer(s) running and keeping up.", data);
        return Task.FromResult(result);
    }
}
