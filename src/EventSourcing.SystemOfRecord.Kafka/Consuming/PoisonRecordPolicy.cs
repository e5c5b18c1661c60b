namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>What the consumer does with a record that is not one of our events (no CloudEvents headers, a bad id or bucket, no value).</summary>
public enum PoisonRecordPolicy
{
    /// <summary>Log it (topic, partition, offset, reason; never the payload) as an error, count it, commit past it, and go on.</summary>
    LogAndSkip,

    /// <summary>Log it as critical and stop the consumer without committing past it: the service fails with a <see cref="KafkaPoisonRecordException"/>.</summary>
    Stop,
}
