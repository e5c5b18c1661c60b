using System.Collections.Concurrent;
using EventSourcing.SystemOfRecord.Kafka.Testing;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>
/// A downstream as the guarantees expect one: a Kafka event consumer in a group of its own whose handler is an
/// <see cref="IdempotentEventHandler"/>. Counts every delivery and how often each event was applied.
/// </summary>
internal sealed class IdempotentConsumer : IAsyncDisposable
{
    private readonly ConsumerHost _host;
    private readonly ConcurrentDictionary<TimeUuid, int> _applied = new();

    private IdempotentConsumer(KafkaMockCluster cluster, string topic)
    {
        Handler = new IdempotentEventHandler(
            (e, _) =>
            {
                _applied.AddOrUpdate(e.EventId, 1, (_, n) => n + 1);
                return ValueTask.CompletedTask;
            },
            new InMemoryProcessedEventLog());
        _host = new ConsumerHost(
            o => KafkaTestSettings.Consumer(o, cluster, topic, "downstream-" + Guid.NewGuid().ToString("N")[..8]),
            (e, _) => Handler.HandleAsync(e, CancellationToken.None));
    }

    public IdempotentEventHandler Handler { get; }

    /// <summary>Records the consumer handed to the idempotent handler, duplicates included.</summary>
    public long Deliveries => _host.Service.HandledCount;

    /// <summary>Events applied downstream (the inner handler ran and succeeded).</summary>
    public long AppliedCount => Handler.HandledCount;

    /// <summary>How often the inner handler applied each event.</summary>
    public IReadOnlyDictionary<TimeUuid, int> Applied => _applied;

    public static async Task<IdempotentConsumer> StartAsync(KafkaMockCluster cluster, string topic)
    {
        var consumer = new IdempotentConsumer(cluster, topic);
        await consumer._host.StartAsync();
        return consumer;
    }

    /// <summary>The applied ids of each bucket, as the downstream reports them to a reconciliation.</summary>
    public Func<DateTime, CancellationToken, IAsyncEnumerable<TimeUuid>> IdsInBucket(SystemOfRecord system)
    {
        var byBucket = _applied.Keys.ToLookup(id => system.GetBucket(id.GetTimestamp()));
        return (bucket, _) => AsAsync(byBucket[bucket]);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static async IAsyncEnumerable<TimeUuid> AsAsync(IEnumerable<TimeUuid> ids)
    {
        foreach (var id in ids)
        {
            yield return id;
        }

        await Task.CompletedTask;
    }
}
