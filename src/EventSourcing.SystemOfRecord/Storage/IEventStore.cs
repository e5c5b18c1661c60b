namespace EventSourcing.SystemOfRecord;

/// <summary>
/// A durable, time-bucketed events table: the system of record. Implementations are thread-safe.
/// </summary>
public interface IEventStore
{
    /// <summary>
    /// Creates the schema if it does not exist and records <paramref name="bucketIncrement"/>; on a store
    /// that already holds another increment, fails with <see cref="BucketIncrementMismatchException"/>.
    /// Safe to call more than once and from several processes.
    /// </summary>
    ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default);

    /// <summary>The bucket increment the store was created with, or <see langword="null"/> before it was created.</summary>
    ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes one event durably. When the returned task completes successfully the event is recorded;
    /// when it fails, nothing of the event was written.
    /// </summary>
    ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default);

    /// <summary>Streams the events of one bucket in event id order.</summary>
    /// <param name="bucket">The bucket start (UTC, aligned).</param>
    /// <param name="cancellationToken">Stops the stream.</param>
    IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams the events of every bucket <c>b</c> with <paramref name="fromBucket"/> &lt;= <c>b</c> &lt; <paramref name="toExclusive"/>,
    /// ordered by bucket, then by event id, without loading the range into memory. Empty buckets cost nothing.
    /// </summary>
    IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, CancellationToken cancellationToken = default);
}
