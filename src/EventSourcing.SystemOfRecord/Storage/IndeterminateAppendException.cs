namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The store could not confirm an append: the write may or may not have been applied (a distributed store's write
/// timeout, a connection lost after the request was sent). It is the one exception to "a failed append wrote nothing".
/// </summary>
/// <remarks>
/// The system of record does not publish the event on the spot; its publish pipeline looks for it in the store later
/// and publishes it if the write was applied, so an indeterminate event is published if and only if it was recorded.
/// Appending again creates a new event (a new id); a downstream that must not see the same fact twice should not retry blindly.
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
        return $"The store could not confirm the append of event {recordedEvent.EventId}: it may or may not be recorded ({innerException.Message}). "
            + "If it was recorded, the publish pipeline publishes it.";
    }
}
