using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Kafka;

public sealed partial class KafkaEventPublisher
{
    /// <summary>Log messages of <see cref="KafkaEventPublisher"/>, with stable event ids. Never logs settings values or payloads.</summary>
    private static partial class Log
    {
        [LoggerMessage(3100, LogLevel.Information, "Kafka publisher {Client} started for {BootstrapServers} (acks=all, idempotent).")]
        public static partial void Started(ILogger logger, string bootstrapServers, string client);

        [LoggerMessage(3101, LogLevel.Warning, "Kafka publisher closed with {Count} records unacknowledged after the publish timeout; their publishes fail as the producer times them out, and a replay of their buckets delivers them.")]
        public static partial void FlushIncomplete(ILogger logger, int count);

        [LoggerMessage(3102, LogLevel.Warning, "Kafka producer {Old} hit a fatal error; publishing goes on through the new producer {New}. Records the old one still held fail; a replay delivers them.")]
        public static partial void ProducerReplaced(ILogger logger, string old, string @new);

        [LoggerMessage(3104, LogLevel.Information, "Kafka publisher started for {BootstrapServers}, exactly once: transactions with the publish cursor in {CursorTopic}.")]
        public static partial void StartedExactlyOnce(ILogger logger, string bootstrapServers, string cursorTopic);

        [LoggerMessage(3103, LogLevel.Warning, "Closing a failed Kafka producer reported {Code}.")]
        public static partial void RetireFailed(ILogger logger, ErrorCode code);
    }
}
