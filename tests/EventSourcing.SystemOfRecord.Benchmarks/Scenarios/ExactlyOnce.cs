using System.Reflection;
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

    /// <summary>The compacted topic the publisher keeps its cursors in; created in the mock cluster, which cannot create topics on request.</summary>
    public const string CursorTopic = "bench-publish-cursors";

    /// <summary>
    /// SWITCH until exactly-once is on main: sets <c>KafkaPublisherOptions.ExactlyOnce = true</c> and
    /// <c>CursorTopic = </c><see cref="CursorTopic"/> through reflection, so this project builds before and after that
    /// branch lands; without the properties the rows are reported as not measured. Once it is on main, replace the body
    /// with <c>options.ExactlyOnce = true; options.CursorTopic = CursorTopic;</c>.
    /// </summary>
    public static void Enable(KafkaPublisherOptions options)
    {
        var exactlyOnce = typeof(KafkaPublisherOptions).GetProperty("ExactlyOnce", BindingFlags.Public | BindingFlags.Instance);
        var cursorTopic = typeof(KafkaPublisherOptions).GetProperty("CursorTopic", BindingFlags.Public | BindingFlags.Instance);
        if (exactlyOnce is null || cursorTopic is null)
        {
            throw new NotSupportedException("KafkaPublisherOptions.ExactlyOnce is not in this build (it comes with the exactly-once branch).");
        }

        exactlyOnce.SetValue(options, true);
        cursorTopic.SetValue(options, CursorTopic);
    }

    /// <summary>Creates the cursor topic (one partition, replication 3), once per cluster.</summary>
    public static void CreateCursorTopic(KafkaMockCluster cluster) => RawKafka.CreateTopic(cluster, CursorTopic, exact: true, partitions: 1);

    public static AppendSetup Setup(Settings settings, bool sqlite) => new(Name, sqlite, PublishMode.Committed, settings.Appenders, ExactlyOnce: true);

    /// <summary>The same records in transactions of 1000, one transaction after the other, through one transactional producer.</summary>
    public static async Task<Result> RawAsync(Settings settings, KafkaMockCluster cluster)
    {
        var topic = RawKafka.CreateTopic(cluster, "raw-transactions");
        using var producer = RawKafka.CreateTransactionalProducer(cluster, "bench-raw-" + Guid.NewGuid().ToString("N")[..12]);
        var events = RawSqlite.Events(settings.KafkaAppendEvents + settings.WarmupEvents, topic);
        await RawKafka.SendInTransactionsAsync(producer, topic, events.GetRange(0, settings.WarmupEvents), TransactionSize);

        using var meter = RunMeter.Start();
        var sent = await RawKafka.SendInTransactionsAsync(producer, topic, events.GetRange(settings.WarmupEvents, settings.KafkaAppendEvents), TransactionSize);
        var result = meter.Stop(Name, RawContender, Role.Raw, sent, null,
            $"the events are built before the clock; one transactional producer (acks=all, idempotent, 5 in flight) begins a transaction, produces {TransactionSize} records with no delivery handler, commits (which flushes them), and repeats; timed until the last commit; no store, no cursor");
        var (records, distinct) = RawKafka.ReadCommitted(cluster, topic);
        var expected = settings.WarmupEvents + settings.KafkaAppendEvents;
        if (records != expected || distinct != expected)
        {
            throw new InvalidOperationException($"A read_committed consumer sees {records} records with {distinct} distinct ids; {expected} were produced.");
        }

        return result;
    }
}
