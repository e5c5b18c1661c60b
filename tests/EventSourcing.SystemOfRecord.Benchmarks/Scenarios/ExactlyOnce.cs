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

    /// <summary>
    /// SWITCH until exactly-once is on main: sets <c>KafkaPublisherOptions.ExactlyOnce = true</c> through reflection, so
    /// this project builds before and after that branch lands; without the property the rows are reported as not
    /// measured. Once it is on main, replace the body with <c>options.ExactlyOnce = true;</c>.
    /// </summary>
    public static void Enable(KafkaPublisherOptions options)
    {
        var property = typeof(KafkaPublisherOptions).GetProperty("ExactlyOnce", BindingFlags.Public | BindingFlags.Instance)
            ?? throw new NotSupportedException("KafkaPublisherOptions.ExactlyOnce is not in this build (it comes with the exactly-once branch).");
        property.SetValue(options, true);
    }

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
