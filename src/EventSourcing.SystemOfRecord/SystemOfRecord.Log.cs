using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

public partial class SystemOfRecord
{
    /// <summary>Log messages of <see cref="SystemOfRecord"/>, with stable event ids. Never logs payloads.</summary>
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "System of record ready: store {Store}, publisher {Publisher}, bucket increment {BucketIncrement}.")]
        public static partial void Ready(ILogger logger, string store, string publisher, TimeSpan bucketIncrement);

        [LoggerMessage(2, LogLevel.Warning, "Event {EventId} was recorded in bucket {Bucket:O} but publishing it failed; a replay of the bucket delivers it.")]
        public static partial void PublishFailed(ILogger logger, Exception exception, TimeUuid eventId, DateTime bucket);

        [LoggerMessage(3, LogLevel.Information, "Replaying buckets {Start:O} to {End:O} (end exclusive) through {Strategy}.")]
        public static partial void ReplayStarted(ILogger logger, DateTime start, DateTime end, string strategy);

        [LoggerMessage(4, LogLevel.Information, "Replayed {Buckets} buckets from {Start:O} to {End:O}.")]
        public static partial void ReplayCompleted(ILogger logger, long buckets, DateTime start, DateTime end);

        [LoggerMessage(5, LogLevel.Information, "Republished {Events} events from buckets {Start:O} to {End:O}.")]
        public static partial void RepublishCompleted(ILogger logger, long events, DateTime start, DateTime end);
    }
}
