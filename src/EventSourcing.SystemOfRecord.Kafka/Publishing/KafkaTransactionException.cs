using Confluent.Kafka;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// An exactly-once transaction did not commit, or the publisher could not get ready for transactions (the transactional
/// producer, the cursor topic). Nothing of the transaction is visible to <c>read_committed</c> consumers. The message
/// names the Kafka error; a record Kafka refuses for good raises <see cref="KafkaPublishException"/> instead.
/// </summary>
public sealed class KafkaTransactionException : KafkaSystemOfRecordException
{
    private readonly bool _isTransient;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="errorCode">The Kafka error code.</param>
    /// <param name="isTransient">Whether trying again may succeed.</param>
    /// <param name="innerException">Confluent.Kafka's exception, if any.</param>
    public KafkaTransactionException(string message, ErrorCode errorCode, bool isTransient, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
        _isTransient = isTransient;
    }

    /// <summary>The Kafka error code.</summary>
    public ErrorCode ErrorCode { get; }

    /// <summary>
    /// True when the same transaction may commit later (brokers unreachable, a transaction aborted by a failure that
    /// passes, a broken producer the publisher replaces); false when a setting or a permission must change first.
    /// </summary>
    public override bool IsTransient => _isTransient;
}
