using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using EventSourcing.SystemOfRecord;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using Microsoft.Extensions.Options;

/// <summary>
/// Publish throughput against the in-process mock cluster (3 brokers, replication 3, acks=all, idempotent):
/// a raw Confluent producer, KafkaEventPublisher with every publish in flight, and a replay through
/// SystemOfRecord.RepublishDateRangeAsync, at least once and exactly once (transactions of up to 1 000 events with the
/// publish cursor). Same records, same producer settings.
/// </summary>
internal static class Throughput
{
    private const int Partitions = 6;

    public static async Task RunAsync(int count)
    {
        using var cluster = new KafkaMockCluster(brokers: 3);
        Console.WriteLine($"{count:N0} records of ~100 bytes, 10 keys, {Partitions} partitions, mock cluster of 3 brokers, acks=all, idempotent.");
        var bucket = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var events = Enumerable.Range(0, count)
            .Select(i => new RecordedEvent(bucket, TimeUuid.Create(bucket.AddTicks(i)), "t", $"customer-{i % 10}", $"{{\"order\":{i},\"total\":\"{i * 7 % 1000}.00\",\"currency\":\"EUR\",\"pad\":\"xxxxxxxxxxxxxxxx\"}}"))
            .ToList();

        // Warm up both paths (JIT, connections) on a small topic first.
        await RawAsync(cluster, Topic(cluster, "warm-raw"), events.Take(5_000).ToList());
        await PublisherAsync(cluster, Topic(cluster, "warm-pub"), events.Take(5_000).ToList());

        var raw = await RawAsync(cluster, Topic(cluster, "raw"), events);
        var published = await PublisherAsync(cluster, Topic(cluster, "publisher"), events);
        var replayed = await RepublishAsync(cluster, Topic(cluster, "replay"), events, bucket, exactlyOnce: false);
        var transactional = await RepublishAsync(cluster, Topic(cluster, "replay-eos"), events, bucket, exactlyOnce: true);
        Report("raw Confluent producer, same records (Produce + handler)", count, raw);
        Report("KafkaEventPublisher.PublishAsync, all in flight", count, published);
        Report("SystemOfRecord.RepublishDateRangeAsync, at least once", count, replayed);
        Report("SystemOfRecord.RepublishDateRangeAsync, exactly once", count, transactional);
    }

    private static RecordedEvent OnTopic(RecordedEvent e, string topic) => new(e.TimeBucket, e.EventId, topic, e.Key, e.Message);

    private static string Topic(KafkaMockCluster cluster, string name)
    {
        cluster.CreateTopic(name, Partitions);
        return name;
    }

    private static void Report(string what, int count, TimeSpan elapsed) =>
        Console.WriteLine($"  {what,-56} {count / elapsed.TotalSeconds,10:N0} records/s ({elapsed.TotalMilliseconds:N0} ms)");

    private static async Task<TimeSpan> RawAsync(KafkaMockCluster cluster, string topic, List<RecordedEvent> events)
    {
        var config = new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, EnableIdempotence = true, MaxInFlight = 5 };
        using var producer = new ProducerBuilder<string?, string>(config).Build();
        var source = Encoding.UTF8.GetBytes(KafkaPublisherOptions.DefaultSource);
        var type = Encoding.UTF8.GetBytes(KafkaPublisherOptions.DefaultType);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var left = events.Count;
        var watch = Stopwatch.StartNew();
        foreach (var e in events)
        {
            // The same record KafkaEventPublisher sends: CloudEvents headers included.
            var message = new Message<string?, string>
            {
                Key = e.Key,
                Value = e.Message,
                Headers = new Headers
                {
                    { "ce_specversion", "1.0"u8.ToArray() },
                    { "ce_id", Encoding.ASCII.GetBytes(e.EventId.ToString()) },
                    { "ce_source", source },
                    { "ce_type", type },
                    { "ce_time", Encoding.ASCII.GetBytes(e.Timestamp.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture)) },
                    { "ce_timebucket", Encoding.ASCII.GetBytes(e.TimeBucket.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture)) },
                },
            };
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, report =>
                    {
                        if (report.Error.IsError)
                        {
                            done.TrySetException(new KafkaException(report.Error));
                        }
                        else if (Interlocked.Decrement(ref left) == 0)
                        {
                            done.TrySetResult();
                        }
                    });
                    break;
                }
                catch (ProduceException<string?, string> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    await Task.Delay(5);
                }
            }
        }

        await done.Task;
        return watch.Elapsed;
    }

    private static async Task<TimeSpan> PublisherAsync(KafkaMockCluster cluster, string topic, List<RecordedEvent> events)
    {
        await using var publisher = new KafkaEventPublisher(Options.Create(new KafkaPublisherOptions { BootstrapServers = cluster.BootstrapServers }));
        var onTopic = events.ConvertAll(e => OnTopic(e, topic));
        var watch = Stopwatch.StartNew();
        var pending = new Task[onTopic.Count];
        for (var i = 0; i < onTopic.Count; i++)
        {
            pending[i] = publisher.PublishAsync(onTopic[i], CancellationToken.None).AsTask();
        }

        await Task.WhenAll(pending);
        return watch.Elapsed;
    }

    private static async Task<TimeSpan> RepublishAsync(KafkaMockCluster cluster, string topic, List<RecordedEvent> events, DateTime bucket, bool exactlyOnce)
    {
        var store = new InMemoryEventStore();
        await store.EnsureCreatedAsync(TimeSpan.FromSeconds(15));
        foreach (var e in events)
        {
            await store.AppendAsync(OnTopic(e, topic));
        }

        var publisherOptions = new KafkaPublisherOptions { BootstrapServers = cluster.BootstrapServers, ExactlyOnce = exactlyOnce };
        if (exactlyOnce)
        {
            publisherOptions.CursorTopic = topic + "-cursors";
            cluster.CreateTopic(publisherOptions.CursorTopic, 1); // the mock broker cannot create topics
        }

        await using var publisher = new KafkaEventPublisher(Options.Create(publisherOptions));
        await using var system = new SystemOfRecord(
            store,
            publisher,
            Options.Create(new SystemOfRecordOptions { BucketIncrement = TimeSpan.FromSeconds(15), InstanceName = "throughput" }),
            publishRecovery: exactlyOnce ? new PublishRecoveryOptions() : null); // exactly once keeps its cursor in the store too

        // Started before the clock runs (a read starts the publish pipeline): with exactly once, the start takes the
        // transactional id and reads the last cursor back, a one-off cost that is not publishing.
        var starting = Stopwatch.StartNew();
        await foreach (var _ in system.ReadBucketAsync(bucket.AddDays(-1)))
        {
        }

        if (exactlyOnce)
        {
            Console.WriteLine($"  (exactly once: the start took {starting.ElapsedMilliseconds:N0} ms)");
        }

        var watch = Stopwatch.StartNew();
        var republished = await system.RepublishDateRangeAsync(bucket, bucket.AddSeconds(15));
        var elapsed = watch.Elapsed;
        if (republished != events.Count)
        {
            throw new InvalidOperationException($"Republished {republished} of {events.Count}.");
        }

        return elapsed;
    }
}
