using Confluent.Kafka;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>Kafka did not acknowledge a record. The message names the Kafka error.</summary>
public sealed class KafkaPublishException : KafkaSystemOfRecordException
{
    private readonly bool _isTransient;

    /// <summary>Creates the exception.</summary>
    /// <param name="eventId">The event that was not acknowledged.</param>
    /// <param name="topic">The topic it was sent to.</param>
    /// <param name="error">The Kafka error.</param>
    /// <param name="innerException">Confluent.Kafka's exception, if any.</param>
    public KafkaPublishException(TimeUuid eventId, string topic, Error error, Exception? innerException = null)
        : base($"Kafka did not acknowledge event {eventId} on topic '{topic}': {error?.Code} ({error?.Reason}).", innerException)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(error);
        EventId = eventId;
        Topic = topic;
        ErrorCode = error.Code;
        // A fatal error breaks one producer only: the publisher starts a new one, so trying again succeeds.
        _isTransient = error.IsFatal || IsTransientCode(error.Code);
    }

    /// <summary>The event that was not acknowledged.</summary>
    public TimeUuid EventId { get; }

    /// <summary>The topic it was sent to.</summary>
    public string Topic { get; }

    /// <summary>The Kafka error code.</summary>
    public ErrorCode ErrorCode { get; }

    /// <summary>
    /// True when trying again later may succeed (brokers down or slow, leadership moving, a fatal producer error the
    /// publisher recovers from with a new producer); false for errors that persist (record too large, not authorized...).
    /// </summary>
    public override bool IsTransient => _isTransient;

    /// <summary>Whether a record that failed with <paramref name="code"/> may be taken later.</summary>
    internal static bool IsTransientCode(ErrorCode code) => code is
        ErrorCode.Local_MsgTimedOut or ErrorCode.Local_TimedOut or ErrorCode.Local_Transport or ErrorCode.Local_AllBrokersDown
        or ErrorCode.Local_QueueFull or ErrorCode.RequestTimedOut or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend
        or ErrorCode.LeaderNotAvailable or ErrorCode.NotLeaderForPartition or ErrorCode.NetworkException or ErrorCode.BrokerNotAvailable
        or ErrorCode.Local_UnknownPartition or ErrorCode.UnknownTopicOrPart or ErrorCode.KafkaStorageError
        or ErrorCode.OutOfOrderSequenceNumber or ErrorCode.InvalidProducerEpoch or ErrorCode.UnknownProducerId or ErrorCode.Local_Fatal;
}
