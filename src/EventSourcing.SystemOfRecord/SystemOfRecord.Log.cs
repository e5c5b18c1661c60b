using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

public sealed partial class SystemOfRecord
{
    /// <summary>Log messages of <see cref="SystemOfRecord"/>, with stable event ids (the core's range is 1000 to 1999). Never logs payloads.</summary>
    private static partial class Log
    {
        [LoggerMessage(1000, LogLevel.Information, "System of record ready: store {Store}, publisher {Publisher}, bucket increment {BucketIncrement}, instance {Instance}, publish mode {PublishMode}.")]
        public static partial void Ready(ILogger logger, string store, string publisher, TimeSpan bucketIncrement, string instance, PublishMode publishMode);

        [LoggerMessage(1001, LogLevel.Warning, "Instance {Instance} runs in PublishMode.Committed without publish recovery: events committed but not yet published when the process dies are published only by a republish. Call WithPublishRecovery() to catch up on them at the next start.")]
        public static partial void CommittedWithoutRecovery(ILogger logger, string instance);

        [LoggerMessage(1003, LogLevel.Information, "Replaying buckets {Start:O} to {End:O} (end exclusive) through {Strategy}.")]
        public static partial void ReplayStarted(ILogger logger, DateTime start, DateTime end, string strategy);

        [LoggerMessage(1004, LogLevel.Information, "Replayed {Buckets} buckets from {Start:O} to {End:O}.")]
        public static partial void ReplayCompleted(ILogger logger, long buckets, DateTime start, DateTime end);

        [LoggerMessage(1005, LogLevel.Information, "Republished {Events} events from buckets {Start:O} to {End:O}.")]
        public static partial void RepublishCompleted(ILogger logger, long events, DateTime start, DateTime end);
    }
}
