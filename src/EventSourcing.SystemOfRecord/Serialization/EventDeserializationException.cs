namespace EventSourcing.SystemOfRecord;

/// <summary>A recorded event could not be read as the requested type. Not transient: reading it again fails the same way.</summary>
public sealed class EventDeserializationException : SystemOfRecordException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="recordedEvent">The event that could not be read.</param>
    /// <param name="targetType">The type it was to be read as.</param>
    /// <param name="reason">Why, in a few words.</param>
    /// <param name="innerException">The serializer's error, if any.</param>
    public EventDeserializationException(RecordedEvent recordedEvent, Type targetType, string reason, Exception? innerException = null)
        : base(
            $"Event {recordedEvent?.EventId} (type '{recordedEvent?.Type ?? "none"}', content type '{recordedEvent?.ContentType ?? "none"}') "
            + $"could not be read as {targetType?.FullName}: {reason}",
            innerException)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ArgumentNullException.ThrowIfNull(targetType);
        EventId = recordedEvent.EventId;
        EventType = recordedEvent.Type;
        TargetType = targetType;
    }

    /// <summary>The event's id.</summary>
    public TimeUuid EventId { get; }

    /// <summary>The event's type name, or <see langword="null"/> for an untyped event.</summary>
    public string? EventType { get; }

    /// <summary>The CLR type the event was to be read as.</summary>
    public Type TargetType { get; }
}
