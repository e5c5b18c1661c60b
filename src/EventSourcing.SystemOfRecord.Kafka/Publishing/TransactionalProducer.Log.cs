using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Kafka;

internal sealed partial class TransactionalProducer
{
    /// <summary>Log messages of <see cref="TransactionalProducer"/>, with stable event ids. Never logs settings values or payloads.</summary>
    private static partial class Log
    {
        [LoggerMessage(3300, LogLevel.Information, "Exactly-once publishing ready: transactional id {TransactionalId}, cursor topic {Topic} [{Partition}], last committed cursor {Cursor}.")]
        public static partial void Initialized(ILogger logger, string transactionalId, string topic, int partition, string? cursor);

        [LoggerMessage(3301, LogLevel.Debug, "Committed transaction {Transaction} of {Count} events, cursor {Cursor}.")]
        public static partial void Committed(ILogger logger, Guid transaction, int count, string cursor);

        [LoggerMessage(3302, LogLevel.Warning, "Aborted transaction {Transaction} of {Count} events ({Code}); none of it is visible to read_committed consumers.")]
        public static partial void Aborted(ILogger logger, Guid transaction, int count, ErrorCode code);

        [LoggerMessage(3303, LogLevel.Warning, "The commit of transaction {Transaction} did not finish in time; the next attempt resumes it.")]
        public static partial void CommitPending(ILogger logger, Exception exception, Guid transaction);

        [LoggerMessage(3304, LogLevel.Error, "The transactional producer failed ({Code}); the next transaction starts a new producer.")]
        public static partial void ProducerFailed(ILogger logger, Exception exception, ErrorCode code);

        [LoggerMessage(3305, LogLevel.Warning, "Aborting a transaction failed ({Code}); the producer is replaced, and Kafka aborts the transaction.")]
        public static partial void AbortFailed(ILogger logger, Exception exception, ErrorCode code);

        [LoggerMessage(3306, LogLevel.Information, "Transaction {Transaction}, whose outcome was unknown, committed: {Committed}.")]
        public static partial void Resolved(ILogger logger, Guid transaction, bool committed);

        [LoggerMessage(3307, LogLevel.Warning, "Transaction {Transaction} (cursor {Cursor}) turned out committed, but the next batch has cursor {NextCursor}; its events may appear twice.")]
        public static partial void ResolvedOtherBatch(ILogger logger, Guid transaction, string cursor, string nextCursor);

        [LoggerMessage(3308, LogLevel.Critical, "Kafka fenced the transactional producer {TransactionalId}: another process took over this instance name. Publishing stops.")]
        public static partial void Fenced(ILogger logger, string transactionalId);
    }
}
