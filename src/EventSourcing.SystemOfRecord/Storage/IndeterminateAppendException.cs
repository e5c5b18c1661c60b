namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The store could not confirm an append: the write may or may not have been applied (a distributed store's write
/// timeout, a connection lost after the request was sent). It is the one exception to "a failed append wrote nothing".
/// </summary>
/// <remarks>
/// Through <c>SystemOfRecord</c>, the doubt is resolved forward: the publish pipeline looks the event up in the store a
/// moment later and, if it is not there, writes it again under the same id (an upsert, harmless if the first write
/// lands after all); then it publishes it. So the event is recorded and published, exactly as if the append had
/// succeeded. Do not append it again: that would record the same fact twice, under a new id.
/// </remarks>
public sealed class IndeterminateAppendException : SystemOfRecordException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="recordedEvent">The event whose write is in doubt.</param>
    /// <param name="innerException">The store's error.</param>
    public IndeterminateAppendException(RecordedEvent recordedEvent, Exception innerException)
        : base(BuildMessage(recordedEvent, innerException), innerException)
    {
        Event = recordedEvent;
    }

    /// <summary>The event whose write is in doubt.</summary>
    public RecordedEvent Event { get; }

    private static string BuildMessage(RecordedEvent recordedEvent, Exception innerException)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ArgumentNullException.ThrowIfNull(innerException);
        return $"The store could not confirm the append of event {recordedEvent.EventId} ({innerException.Message}). "
            + "The publish pipeline makes sure it is recorded (writing it again under its id if it is not) and publishes it: do not append it again.";
    }
}
