namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The event was recorded in the system of record, but its publish failed, was refused, or did not finish within the
/// publish timeout. The event is safe in the store. The publish pipeline keeps trying a publish that failed for now
/// while this process lives; with publish recovery on (<see cref="RecoveryScheduled"/>) a restart resumes it too.
/// </summary>
public sealed class EventPublishException : SystemOfRecordException
{
    /// <summary>Creates the exception.</summary>
    public EventPublishException(RecordedEvent recordedEvent, Exception innerException)
        : this(recordedEvent, innerException, recoveryScheduled: false)
    {
    }

    /// <summary>Creates the exception, saying whether publish recovery will publish the event whatever happens to this process.</summary>
    public EventPublishException(RecordedEvent recordedEvent, Exception innerException, bool recoveryScheduled)
        : base(BuildMessage(recordedEvent, innerException, recoveryScheduled), innerException)
    {
        Event = recordedEvent;
        RecoveryScheduled = recoveryScheduled;
    }

    /// <summary>The event, safely recorded.</summary>
    public RecordedEvent Event { get; }

    /// <summary>
    /// <see langword="true"/> when publish recovery is on and the publish failed for now: the pipeline publishes the event
    /// once the broker is back, across a restart too, so the caller need do nothing. <see langword="false"/>: the publisher
    /// refused it for good (it is parked), or recovery is off (the pipeline retries while this process lives; a replay of
    /// its bucket delivers it for sure).
    /// </summary>
    public bool RecoveryScheduled { get; }

    private static string BuildMessage(RecordedEvent recordedEvent, Exception innerException, bool recoveryScheduled)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ArgumentNullException.ThrowIfNull(innerException);
        var next = recoveryScheduled
            ? "It is safe in the system of record; publish recovery publishes it once the broker is back."
            : "It is safe in the system of record; a replay of its bucket delivers it.";
        return $"Event {recordedEvent.EventId} was recorded in bucket {recordedEvent.TimeBucket:O} but publishing it failed: {innerException.Message} {next}";
    }
}
