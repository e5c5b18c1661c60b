using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>Append to SQLite (synchronous=FULL), then publish to Kafka (mock cluster, 3 brokers, replication 3, acks=all).</summary>
internal static class KafkaAppend
{
    public const string Name = "Append + publish, Kafka";

    public static async Task<Result> OursAsync(Settings settings, KafkaMockCluster cluster, int appenders, int? lingerMs = null)
    {
        using var scratch = new Scratch("kafka-append");
        var topic = RawKafka.CreateTopic(cluster, "ours-append-" + appenders + "-" + lingerMs);
        var options = new KafkaPublisherOptions { BootstrapServers = cluster.BootstrapServers };
        if (lingerMs is not null)
        {
            options.ProducerSettings["linger.ms"] = lingerMs.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var store = new SqliteEventStore(new SqliteStoreOptions { ConnectionString = "Data Source=" + scratch.File("events.db"), Synchronous = SqliteSynchronousMode.Full });
        var publisher = new KafkaEventPublisher(Options.Create(options));
        await using var system = new SystemOfRecord(store, publisher, Options.Create(new SystemOfRecordOptions { BucketIncrement = Workload.Increment, DefaultTopic = topic }));
        var messages = Enumerable.Range(0, settings.KafkaAppendEvents).Select(Workload.Message).ToArray();

        await Concurrently.RunAsync(appenders, settings.WarmupEvents, async i => await system.AppendAsync(messages[i], Workload.Key(i)), null);

        var latencies = new LatencyRecorder(settings.KafkaAppendEvents);
        using var meter = RunMeter.Start();
        await Concurrently.RunAsync(appenders, settings.KafkaAppendEvents, async i => await system.AppendAsync(messages[i], Workload.Key(i)), latencies);
        var result = meter.Stop(Name, $"SystemOfRecord + SqliteEventStore + KafkaEventPublisher, {appenders} appenders{(lingerMs is null ? "" : $", linger.ms={lingerMs}")}", Role.Ours, settings.KafkaAppendEvents, latencies,
            "each AppendAsync returns after the SQLite commit and the Kafka acknowledgement");
        await publisher.DisposeAsync();
        await store.DisposeAsync();
        return result;
    }

    public static async Task<Result> RawAsync(Settings settings, KafkaMockCluster cluster)
    {
        var topic = RawKafka.CreateTopic(cluster, "raw-append");
        using var producer = RawKafka.CreateProducer(cluster);
        var now = DateTime.UtcNow;
        var bucket = now.AddTicks(-(now.Ticks % Workload.Increment.Ticks));
        var events = Enumerable.Range(0, settings.KafkaAppendEvents + settings.WarmupEvents)
            .Select(i => new RecordedEvent(bucket, TimeUuid.Create(), topic, Workload.Key(i), Workload.Message(i)))
            .ToList();
        await RawKafka.SendAllAsync(producer, topic, events.GetRange(0, settings.WarmupEvents), null);

        var latencies = new LatencyRecorder(settings.KafkaAppendEvents);
        using var meter = RunMeter.Start();
        await RawKafka.SendAllAsync(producer, topic, events.GetRange(settings.WarmupEvents, settings.KafkaAppendEvents), latencies);
        return meter.Stop(Name, "raw Confluent.Kafka producer, pipelined", Role.Raw, settings.KafkaAppendEvents, latencies,
            "same records and producer settings, every record in flight at once, no store");
    }
}
