namespace EventSourcing.SystemOfRecord;

/// <summary>
/// A publisher that can make a batch of events and a cursor visible together or not at all (Kafka transactions):
/// what exactly-once publishing needs. The publish pipeline, when <see cref="IsTransactional"/>, publishes through
/// <see cref="PublishTransactionAsync"/> only, with its cursor in each transaction, and starts from the cursor
/// <see cref="InitializeTransactionsAsync"/> returns.
/// </summary>
public interface ITransactionalEventPublisher : IEventPublisher
{
    /// <summary>Whether transactions are on; when <see langword="false"/> the pipeline publishes at least once through <see cref="IEventPublisher.PublishAsync"/>.</summary>
    bool IsTransactional { get; }

    /// <summary>
    /// Claims the transactional identity of <paramref name="instanceName"/>, fencing any older producer that still holds
    /// it (its open transaction is aborted, its later commits fail), and returns the cursor committed last under it.
    /// </summary>
    /// <param name="instanceName">The instance whose identity and cursor to take.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The cursor of the last committed transaction, or <see langword="null"/> when none was ever committed.</returns>
    ValueTask<string?> InitializeTransactionsAsync(string instanceName, CancellationToken cancellationToken);

    /// <summary>
    /// Publishes <paramref name="events"/>, in order, and <paramref name="cursor"/> in one transaction. Completes when the
    /// transaction committed; when it throws, none of it is visible to <c>read_committed</c> consumers. One transaction at
    /// a time: calls must not overlap.
    /// </summary>
    /// <param name="events">The events, in the order to publish them.</param>
    /// <param name="cursor">The pipeline's cursor once the transaction commits; kept with it.</param>
    /// <param name="cancellationToken">Cancels the call; the transaction is then aborted.</param>
    /// <remarks>
    /// When a transaction fails for good (<see cref="SystemOfRecordException.IsTransient"/> false), the pipeline publishes
    /// the same events one per transaction, to find and park the one that cannot be published.
    /// </remarks>
    ValueTask PublishTransactionAsync(IReadOnlyList<RecordedEvent> events, string cursor, CancellationToken cancellationToken);
}
