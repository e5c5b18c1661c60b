using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra;

public sealed partial class CassandraEventStore
{
    private static partial class Log
    {
        [LoggerMessage(4121, LogLevel.Information, "Cassandra store {Keyspace}.{Table} ready: bucket increment {BucketIncrement}, {Shards} shard(s).")]
        public static partial void StoreReady(ILogger logger, string keyspace, string table, TimeSpan bucketIncrement, int shards);

        [LoggerMessage(4122, LogLevel.Warning, "Bucket {Bucket:O} of {Keyspace}.{Table} holds more than {Threshold} events; shrink the bucket increment or add shards (CassandraStoreOptions.ShardCount) to keep partitions small.")]
        public static partial void LargeBucket(ILogger logger, DateTime bucket, long threshold, string keyspace, string table);

        [LoggerMessage(4123, LogLevel.Warning, "The append of event {EventId} in bucket {Bucket:O} is indeterminate: it failed after the write may have reached replicas.")]
        public static partial void IndeterminateAppend(ILogger logger, Exception exception, TimeUuid eventId, DateTime bucket);
    

        [LoggerMessage(4124, LogLevel.Information, "Added the columns {Columns} to the events table {Keyspace}.{Table}, created by an earlier version.")]
        public static partial void EventColumnsAdded(ILogger logger, string keyspace, string table, string columns);
    }
}
