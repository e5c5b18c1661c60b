using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Sqlite;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>What a store and a topic hold, for exact counts.</summary>
internal static class StoreContents
{
    /// <summary>Every event the store holds, in bucket then event id order.</summary>
    public static async Task<List<RecordedEvent>> ReadAllAsync(IEventStore store)
    {
        var events = new List<RecordedEvent>();
        await foreach (var e in store.ReadRangeAsync(DateTime.UnixEpoch, DateTime.UtcNow.AddDays(1)))
        {
            events.Add(e);
        }

        return events;
    }

    /// <summary>Every event a SQLite file holds, read by a store of its own (as another process would).</summary>
    public static async Task<List<RecordedEvent>> ReadAllAsync(string databaseFile)
    {
        await using var store = new SqliteEventStore(new SqliteStoreOptions { ConnectionString = "Data Source=" + databaseFile });
        return await ReadAllAsync(store);
    }

    /// <summary>How many records the topic's partitions hold now (high minus low watermark, summed).</summary>
    public static long RecordsOnTopic(KafkaMockCluster cluster, string topic, int partitions) =>
        TopicReader.Watermarks(cluster.BootstrapServers, topic, partitions).Sum(m => m.High - m.Low);
}
