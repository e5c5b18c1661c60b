namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>The consumer met a record it cannot turn into an event and its policy is <see cref="PoisonRecordPolicy.Stop"/>.</summary>
public sealed class KafkaPoisonRecordException : KafkaSystemOfRecordException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="topic">The record's topic.</param>
    /// <param name="partition">The record's partition.</param>
    /// <param name="offset">The record's offset.</param>
    /// <param name="reason">Why it is not an event.</param>
    public KafkaPoisonRecordException(string topic, int partition, long offset, string reason)
        : base($"The record at {topic} [{partition}] @{offset} is not an event: {reason}. The consumer stopped before it; its offset is not committed.")
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(reason);
        Topic = topic;
        Partition = partition;
        Offset = offset;
        Reason = reason;
    }

    /// <summary>The record's topic.</summary>
    public string Topic { get; }

    /// <summary>The record's partition.</summary>
    public int Partition { get; }

    /// <summary>The record's offset.</summary>
    public long Offset { get; }

    /// <summary>Why it is not an event.</summary>
    public string Reason { get; }
}
