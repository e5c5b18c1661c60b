using System.Runtime.CompilerServices;

namespace EventSourcing.SystemOfRecord.Cli.Stores;

/// <summary>
/// The events of one topic of a store: a reconciliation compares a topic with the events recorded for that topic
/// only (a store holds every topic), and its repair republishes only those. Checkpoints pass through.
/// </summary>
internal sealed class TopicFilteredStore(IEventStore inner, string topic) : IEventStore, ICheckpointStore
{
    public ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default) =>
        inner.EnsureCreatedAsync(bucketIncrement, cancellationToken);

    public ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default) =>
        inner.GetBucketIncrementAsync(cancellationToken);

    public ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The sor tool never appends events.");

    public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default) =>
        OfTopic(inner.ReadBucketAsync(bucket, cancellationToken), cancellationToken);

    public IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, CancellationToken cancellationToken = default) =>
        OfTopic(inner.ReadRangeAsync(fromBucket, toExclusive, cancellationToken), cancellationToken);

    public ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default) =>
        Checkpoints.ReadCheckpointAsync(name, cancellationToken);

    public ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default) =>
        Checkpoints.WriteCheckpointAsync(name, value, cancellationToken);

    public ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default) =>
        Checkpoints.TryReplaceCheckpointAsync(name, expected, value, cancellationToken);

    public ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default) =>
        Checkpoints.DeleteCheckpointAsync(name, cancellationToken);

    public IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, CancellationToken cancellationToken = default) =>
        Checkpoints.ReadCheckpointsAsync(prefix, cancellationToken);

    private ICheckpointStore Checkpoints => inner as ICheckpointStore
        ?? throw new NotSupportedException($"{inner.GetType().Name} keeps no checkpoints.");

    private async IAsyncEnumerable<RecordedEvent> OfTopic(IAsyncEnumerable<RecordedEvent> events, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var recorded in events.WithCancellation(cancellationToken))
        {
            if (string.Equals(recorded.Topic, topic, StringComparison.Ordinal))
            {
                yield return recorded;
            }
        }
    }
}
