namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>What the consumer does with an event whose handler still fails after its retries (<see cref="KafkaConsumerOptions.MaxRetryAttempts"/>).</summary>
public enum HandlerFailurePolicy
{
    /// <summary>Log it as critical and stop the consumer without committing past it: the service fails with a <see cref="KafkaHandlerFailedException"/>.</summary>
    Stop,

    /// <summary>Log it as an error, count it, commit past it and go on: the event is lost to this downstream (a replay brings it back).</summary>
    Skip,

    /// <summary>
    /// Send the record, unchanged, to <see cref="KafkaConsumerOptions.DeadLetterTopic"/> with headers that say why
    /// (<c>sor-dlq-*</c>), then commit past it and go on. If the dead-letter topic cannot be written, the consumer stops as with <see cref="Stop"/>.
    /// </summary>
    DeadLetter,
}

/// <summary>What a consumer with typed handlers does with an event whose type none of its handlers takes.</summary>
public enum UnknownEventTypePolicy
{
    /// <summary>Commit past it (logged at debug level and counted): the consumer is interested in some types of a shared topic only.</summary>
    Skip,

    /// <summary>Log it as critical and stop without committing past it: the service fails with a <see cref="KafkaHandlerFailedException"/>.</summary>
    Stop,

    /// <summary>Send it to <see cref="KafkaConsumerOptions.DeadLetterTopic"/>, then commit past it.</summary>
    DeadLetter,
}
