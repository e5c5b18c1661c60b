using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>Committed appends published exactly once (Kafka transactions that carry the cursor), against a raw transactional producer.</summary>
internal static class ExactlyOnce
{
    public const string Name = "Append + publish exactly-once, Kafka";
    public const string RawContender = "raw transactional Confluent.Kafka producer, 1000-record transactions";
    public const int TransactionSize = 1000;

    /// <summary>
    /// Partitions of the exactly-once topics: the mock cluster keeps about 5 MB per partition and drops the oldest
    /// records past that, so a full run's 102,000 records need more than 6 partitions to be checked by reading them back.
    /// </summary>
    public const int Partitions = 16;

    /// <summary>The compacted topic the publisher keeps its cursors in; created in the mock cluster, which cannot create topics on request.</summary>
    public const string CursorTopic = "bench-publish-cursors";

    /// <summary>Turns exactly-once on, with the cursor topic the mock cluster holds.</summary>
    public static void Enable(KafkaPublisherOptions options)
    {
        options.ExactlyOnce = true;
        options.CursorTopic = CursorTopic;
    }

    /// <summary>Creates the cursor topic (one partition, replication 3), once per cluster.</summary>
    public static void CreateCursorTopic(KafkaMockCluster cluster) => RawKafka.CreateTopic(cluster, CursorTopic, exact: true, partitions: 1);

    public static AppendSetup Setup(Settings settings, bool sqlite) => new(Name, sqlite, PublishMode.Committed, settings.Appenders, ExactlyOnce: true);

    /// <summary>The same records in transactions of 1000, one transaction after the other, through one transactional producer.</summary>
    public static async Task<Result> RawAsync(Settings settings, KafkaMockCluster cluster)
    {
        var topic = RawKafka.CreateTopic(cluster, "raw-transactions", partitions: Partitions);
        using var producer = RawKafka.CreateTransactionalProducer(cluster, "bench-raw-" + Guid.NewGuid().ToString("N")[..12]);
        var events = RawSqlite.Events(settings.KafkaAppendEvents + settings.WarmupEvents, topic);
        await RawKafka.SendInTransactionsAsync(producer, topic, events.GetRange(0, settings.WarmupEvents), TransactionSize);

        using var meter = RunMeter.Start();
        var sent = await RawKafka.SendInTransactionsAsync(producer, topic, events.GetRange(settings.WarmupEvents, settings.KafkaAppendEvents), TransactionSize);
        var result = meter.Stop(Name, RawContender, Role.Raw, sent, null,
            $"the events are built before the clock; one transactional producer (acks=all, idempotent, 5 in flight) begins a transaction, produces {TransactionSize} records with no delivery handler, commits (which flushes them), and repeats; timed until the last commit; no store, no cursor; a topic of {Partitions} partitions, as for the exactly-once publisher");
        var (records, distinct) = RawKafka.ReadCommitted(cluster, topic, Partitions);
        var expected = settings.WarmupEvents + settings.KafkaAppendEvents;
        if (records != expected || distinct != expected)
        {
            throw new InvalidOperationException($"A read_committed consumer sees {records} records with {distinct} distinct ids; {expected} were produced.");
        }

        return result;
    }
}
