namespace EventSourcing.SystemOfRecord;

/// <summary>Sends recorded events to a broker or to in-process subscribers. Implementations are thread-safe.</summary>
public interface IEventPublisher
{
    /// <summary>
    /// Publishes one event. Completes when the broker acknowledged it; fails when it could not.
    /// Concurrent calls may be pipelined.
    /// </summary>
    ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken);
}
