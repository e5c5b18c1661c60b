namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// The base of every error the Kafka package raises: a record Kafka did not take (<see cref="KafkaPublishException"/>), a
/// record a consumer cannot read (<see cref="KafkaPoisonRecordException"/>), a consumer stopped at an event
/// (<see cref="KafkaHandlerFailedException"/>). <see cref="SystemOfRecordException.IsTransient"/> says whether trying again may help.
/// </summary>
public abstract class KafkaSystemOfRecordException : SystemOfRecordException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected KafkaSystemOfRecordException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
