namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Handles events delivered to a downstream (by a broker consumer or a replay). Delivery is at least once:
/// a handler must tolerate seeing an event id again.
/// </summary>
public interface IEventHandler
{
    /// <summary>Handles one event. Completing successfully marks it handled; throwing has it delivered again.</summary>
    /// <param name="recordedEvent">The event.</param>
    /// <param name="cancellationToken">Signals shutdown.</param>
    ValueTask HandleAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken);
}
