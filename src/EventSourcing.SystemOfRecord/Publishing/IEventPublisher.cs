namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Sends recorded events to a broker or to in-process subscribers. Implementations are thread-safe.
/// The system of record's publish pipeline is its only caller in the core.
/// </summary>
public interface IEventPublisher
{
    /// <summary>
    /// Publishes one event. Completes when the broker acknowledged it; fails when it could not (a
    /// <see cref="SystemOfRecordException"/> says with <see cref="SystemOfRecordException.IsTransient"/> whether trying
    /// again may succeed; any other exception counts as transient). Concurrent calls may be pipelined: a publisher keeps
    /// the order of the calls for records of one key.
    /// </summary>
    ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken);

    /// <summary>What this publisher can carry; appends over it are refused before anything is written.</summary>
    /// <value><see cref="PublishLimits.None"/> unless the publisher says otherwise.</value>
    PublishLimits Limits => PublishLimits.None;
}
