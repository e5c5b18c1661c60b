using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

internal sealed partial class PublishPipeline
{
    private static partial class Log
    {
        [LoggerMessage(1020, LogLevel.Information, "Instance {Instance}: catching up on its events from {From:O} to {Through:O}, which the last run may have left unpublished.")]
        public static partial void CatchingUp(ILogger logger, string instance, DateTimeOffset from, DateTimeOffset through);

        [LoggerMessage(1021, LogLevel.Information, "Instance {Instance}: caught up; its publish cursor is at {Cursor:O}.")]
        public static partial void CaughtUp(ILogger logger, string instance, DateTimeOffset cursor);

        [LoggerMessage(1022, LogLevel.Warning, "Event {EventId} was recorded in bucket {Bucket:O} but its publish failed (or did not finish in time); the publish pipeline goes on trying.")]
        public static partial void PublishFailed(ILogger logger, Exception exception, TimeUuid eventId, DateTime bucket);

        [LoggerMessage(1023, LogLevel.Warning, "Instance {Instance}: the publisher failed; sending the failed events again in {Delay}.")]
        public static partial void Retrying(ILogger logger, string instance, TimeSpan delay);

        [LoggerMessage(1024, LogLevel.Error, "Event {EventId} of bucket {Bucket:O} (topic {Topic}) was refused for good and is parked; the cursor moves on. Republish its bucket once the cause is fixed.")]
        public static partial void Parked(ILogger logger, Exception exception, TimeUuid eventId, DateTime bucket, string topic);

        [LoggerMessage(1025, LogLevel.Warning, "Could not record event {EventId} as parked; trying again.")]
        public static partial void ParkWriteFailed(ILogger logger, Exception exception, TimeUuid eventId);

        [LoggerMessage(1026, LogLevel.Warning, "Instance {Instance}: a transaction of {Events} events was refused; publishing them one per transaction to find the one to park.")]
        public static partial void TransactionRefused(ILogger logger, Exception exception, string instance, int events);

        [LoggerMessage(1027, LogLevel.Warning, "Instance {Instance}: a transaction failed; trying it again in {Delay}.")]
        public static partial void TransactionRetrying(ILogger logger, Exception exception, string instance, TimeSpan delay);

        [LoggerMessage(1028, LogLevel.Information, "Event {EventId}, whose write the store could not confirm, was found in the store: {Found}.")]
        public static partial void IndeterminateResolved(ILogger logger, TimeUuid eventId, bool found);

        [LoggerMessage(1029, LogLevel.Warning, "Instance {Instance}: reading the store for the publish pipeline failed; trying again.")]
        public static partial void DispatchStepFailed(ILogger logger, Exception exception, string instance);

        [LoggerMessage(1030, LogLevel.Warning, "Instance {Instance}: writing the publish cursor failed; trying again next round.")]
        public static partial void CursorWriteFailed(ILogger logger, Exception exception, string instance);

        [LoggerMessage(1031, LogLevel.Critical, "Instance {Instance}: another process took this instance over; this process stops publishing.")]
        public static partial void Fenced(ILogger logger, Exception exception, string instance);

        [LoggerMessage(1032, LogLevel.Warning, "Instance {Instance}: stopped with {Backlog} events not yet published; with publish recovery the next start publishes them, without it republish their range.")]
        public static partial void StoppedWithBacklog(ILogger logger, string instance, int backlog);

        [LoggerMessage(1034, LogLevel.Information, "Instance {Instance}: {Folded} stored events wait for the publisher; the pipeline keeps their ids as ranges and reads them back from the store.")]
        public static partial void FoldedIntoRanges(ILogger logger, string instance, int folded);

        [LoggerMessage(1033, LogLevel.Warning, "Instance {Instance}: could not let go of the instance name at stop; the next start waits for the lease to lapse.")]
        public static partial void ReleaseFailed(ILogger logger, Exception exception, string instance);
    }
}
