namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// The consumer stopped at an event: its handler kept failing (or no handler takes its type) and the policy is to stop,
/// or the dead-letter topic could not be written. The event's offset is not committed: the next member of the group starts at it.
/// </summary>
public sealed class KafkaHandlerFailedException : KafkaSystemOfRecordException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="eventId">The event the consumer stopped at.</param>
    /// <param name="topic">The record's topic.</param>
    /// <param name="partition">The record's partition.</param>
    /// <param name="offset">The record's offset.</param>
    /// <param name="reason">Why, in a few words.</param>
    /// <param name="innerException">The handler's last error, or the dead-letter producer's.</param>
    public KafkaHandlerFailedException(TimeUuid eventId, string topic, int partition, long offset, string reason, Exception? innerException = null)
        : base($"The consumer stopped at event {eventId} ({topic} [{partition}] @{offset}): {reason}. Its offset is not committed.", innerException)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(reason);
        EventId = eventId;
        Topic = topic;
        Partition = partition;
        Offset = offset;
        Reason = reason;
    }

    /// <summary>The event the consumer stopped at.</summary>
    public TimeUuid EventId { get; }

    /// <summary>The record's topic.</summary>
    public string Topic { get; }

    /// <summary>The record's partition.</summary>
    public int Partition { get; }

    /// <summary>The record's offset.</summary>
    public long Offset { get; }

    /// <summary>Why the consumer stopped.</summary>
    public string Reason { get; }
}
