namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The event was recorded in the system of record, but publishing it failed. The event is safe:
/// a replay of its bucket delivers it.
/// </summary>
public sealed class EventPublishException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EventPublishException(RecordedEvent recordedEvent, Exception innerException)
        : base($"Event {recordedEvent?.EventId} was recorded in bucket {recordedEvent?.TimeBucket:O} but publishing it failed: {innerException?.Message} "
            + "It is safe in the system of record; a replay of its bucket delivers it.", innerException)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        Event = recordedEvent;
    }

    /// <summary>The event, safely recorded.</summary>
    public RecordedEvent Event { get; }
}
