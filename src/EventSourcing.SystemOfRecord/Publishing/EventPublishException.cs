namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The event was recorded in the system of record, but publishing it failed (or did not finish within the
/// publish timeout). The event is safe: a replay of its bucket delivers it, and with publish recovery on
/// (<see cref="RecoveryScheduled"/>) the background recovery republishes it once the broker is back.
/// </summary>
public sealed class EventPublishException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EventPublishException(RecordedEvent recordedEvent, Exception innerException)
        : this(recordedEvent, innerException, recoveryScheduled: false)
    {
    }

    /// <summary>Creates the exception, saying whether the background recovery will republish the event.</summary>
    public EventPublishException(RecordedEvent recordedEvent, Exception innerException, bool recoveryScheduled)
        : base(BuildMessage(recordedEvent, innerException, recoveryScheduled), innerException)
    {
        Event = recordedEvent;
        RecoveryScheduled = recoveryScheduled;
    }

    /// <summary>The event, safely recorded.</summary>
    public RecordedEvent Event { get; }

    /// <summary>
    /// <see langword="true"/> when publish recovery is on: the event's bucket is held back and republished in the
    /// background, so the caller need do nothing. <see langword="false"/>: replay the bucket to deliver it.
    /// </summary>
    public bool RecoveryScheduled { get; }

    private static string BuildMessage(RecordedEvent recordedEvent, Exception innerException, bool recoveryScheduled)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ArgumentNullException.ThrowIfNull(innerException);
        var next = recoveryScheduled
            ? "It is safe in the system of record; publish recovery will republish its bucket once the broker is back."
            : "It is safe in the system of record; a replay of its bucket delivers it.";
        return $"Event {recordedEvent.EventId} was recorded in bucket {recordedEvent.TimeBucket:O} but publishing it failed: {innerException.Message} {next}";
    }
}
