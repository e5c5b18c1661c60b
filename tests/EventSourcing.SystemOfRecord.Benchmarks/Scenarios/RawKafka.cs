using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>A hand-written Confluent.Kafka producer: the raw limit the publisher is compared to.</summary>
internal static class RawKafka
{
    public const int Partitions = 6;

    private static readonly byte[] SpecVersion = "1.0"u8.ToArray();
    private static readonly byte[] Source = Encoding.UTF8.GetBytes(KafkaPublisherOptions.DefaultSource);
    private static readonly byte[] Type = Encoding.UTF8.GetBytes(KafkaPublisherOptions.DefaultType);

    private static int s_topics;

    /// <summary>Creates a topic of 6 partitions, replication factor 3; unless <paramref name="exact"/>, the name gets a suffix so repeated runs get fresh topics.</summary>
    public static string CreateTopic(KafkaMockCluster cluster, string name, bool exact = false)
    {
        var topic = exact ? name : name + "-" + Interlocked.Increment(ref s_topics).ToString(CultureInfo.InvariantCulture);
        cluster.CreateTopic(topic, Partitions, replicationFactor: 3);
        return topic;
    }

    /// <summary>The settings KafkaEventPublisher uses: acks=all, idempotent, 5 requests in flight per connection.</summary>
    public static IProducer<byte[]?, byte[]> CreateProducer(KafkaMockCluster cluster) =>
        new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            MaxInFlight = 5,
            MessageTimeoutMs = 30_000,
        }).SetLogHandler((_, _) => { }).Build();

    /// <summary>The record KafkaEventPublisher sends for an event: the same key, value and CloudEvents headers.</summary>
    public static Message<byte[]?, byte[]> ToMessage(RecordedEvent e) => new()
    {
        Key = e.Key is null ? null : Encoding.UTF8.GetBytes(e.Key),
        Value = Encoding.UTF8.GetBytes(e.Message),
        Headers = new Headers
        {
            { "ce_specversion", SpecVersion },
            { "ce_id", Encoding.ASCII.GetBytes(e.EventId.ToString()) },
            { "ce_source", Source },
            { "ce_type", Type },
            { "ce_time", Encoding.ASCII.GetBytes(e.Timestamp.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture)) },
            { "ce_timebucket", Encoding.ASCII.GetBytes(e.TimeBucket.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture)) },
        },
    };

    /// <summary>Produces every event with no bound on what is in flight (librdkafka's own queue is the bound), then waits for every acknowledgement.</summary>
    public static async Task<long> SendAllAsync(IProducer<byte[]?, byte[]> producer, string topic, IEnumerable<RecordedEvent> events, LatencyRecorder? latencies)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long pending = 1; // released after the last Produce
        long sent = 0;
        void Completed()
        {
            if (Interlocked.Decrement(ref pending) == 0)
            {
                done.TrySetResult();
            }
        }

        foreach (var e in events)
        {
            var message = ToMessage(e);
            var start = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref pending);
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

                        latencies?.Record(start);
                        Completed();
                    });
                    break;
                }
                catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // librdkafka's queue (100,000 records by default) is full: wait a moment for acknowledgements.
                    await Task.Delay(1);
                }
            }

            sent++;
        }

        Completed();
        await done.Task;
        return sent;
    }
}
