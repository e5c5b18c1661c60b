using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra;

public sealed partial class CassandraProcessedEventLog
{
    private static partial class Log
    {
        [LoggerMessage(4131, LogLevel.Information, "Cassandra processed-event log {Table} ready; entries expire {RetentionWindow} after their event time.")]
        public static partial void Ready(ILogger logger, string table, TimeSpan retentionWindow);

        [LoggerMessage(4132, LogLevel.Debug, "Event {EventId} is already older than the retention window ({RetentionWindow}); not recorded in the processed-event log.")]
        public static partial void NotRecordedOutsideWindow(ILogger logger, TimeUuid eventId, TimeSpan retentionWindow);
    }
}
