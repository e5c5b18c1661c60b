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

    /// <summary>Creates a topic of 6 partitions (unless told), replication factor 3; unless <paramref name="exact"/>, the name gets a suffix so repeated runs get fresh topics.</summary>
    public static string CreateTopic(KafkaMockCluster cluster, string name, bool exact = false, int partitions = Partitions)
    {
        var topic = exact ? name : name + "-" + Interlocked.Increment(ref s_topics).ToString(CultureInfo.InvariantCulture);
        cluster.CreateTopic(topic, partitions, replicationFactor: 3);
        return topic;
    }

    /// <summary>
    /// The settings KafkaEventPublisher uses (acks=all, idempotent, 5 requests in flight per connection, 30 s message
    /// timeout); delivery reports carry only the error and persistence status, which is all a raw producer needs.
    /// </summary>
    public static IProducer<byte[]?, byte[]> CreateProducer(KafkaMockCluster cluster) =>
        new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            MaxInFlight = 5,
            MessageTimeoutMs = 30_000,
            DeliveryReportFields = "status", // the handler reads the error and status only: no key, value or headers copied back per record
        }).SetLogHandler((_, _) => { }).Build();

    /// <summary>
    /// The record KafkaEventPublisher sends for an event: the same key, value and CloudEvents headers, in the same order.
    /// The header values are formatted straight into UTF-8 bytes (no intermediate strings), the cheapest raw way.
    /// </summary>
    public static Message<byte[]?, byte[]> ToMessage(RecordedEvent e) =>
        ToMessage(e.Key is null ? null : Encoding.UTF8.GetBytes(e.Key), Encoding.UTF8.GetBytes(e.Message), e.EventId, e.Timestamp, e.TimeBucket);

    /// <summary>The record of an event whose key and message are already UTF-8 bytes.</summary>
    public static Message<byte[]?, byte[]> ToMessage(byte[]? key, byte[] value, TimeUuid id, DateTime timestamp, DateTime bucket) => new()
    {
        Key = key,
        Value = value,
        Headers = new Headers
        {
            { "ce_specversion", SpecVersion },
            { "ce_id", IdBytes(id) },
            { "ce_source", Source },
            { "ce_type", Type },
            { "ce_time", TimeBytes(timestamp) },
            { "ce_timebucket", TimeBytes(bucket) },
        },
    };

    /// <summary>The canonical lowercase 8-4-4-4-12 text of the id, as ASCII bytes.</summary>
    public static byte[] IdBytes(TimeUuid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        var text = new byte[36];
        var c = 0;
        for (var i = 0; i < 16; i++)
        {
            if (i is 4 or 6 or 8 or 10)
            {
                text[c++] = (byte)'-';
            }

            text[c++] = (byte)"0123456789abcdef"[bytes[i] >> 4];
            text[c++] = (byte)"0123456789abcdef"[bytes[i] & 0xF];
        }

        return text;
    }

    /// <summary>RFC 3339 UTC with 7 fractional digits, as ASCII bytes.</summary>
    public static byte[] TimeBytes(DateTime utc)
    {
        Span<byte> text = stackalloc byte[32];
        utc.TryFormat(text, out var written, "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
        return text[..written].ToArray();
    }

    /// <summary>Throws unless the raw records carry the very bytes the formatting of strings gives (what the publisher sends).</summary>
    public static void CheckRecordFormat()
    {
        var e = new RecordedEvent(Workload.Day, TimeUuid.Create(new DateTimeOffset(Workload.Day.AddSeconds(7.1234567))), Workload.Topic, "k", "{}");
        if (!IdBytes(e.EventId).AsSpan().SequenceEqual(Encoding.ASCII.GetBytes(e.EventId.ToString()))
            || !TimeBytes(e.Timestamp).AsSpan().SequenceEqual(Encoding.ASCII.GetBytes(e.Timestamp.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture))))
        {
            throw new InvalidOperationException("The raw producer's header bytes differ from the publisher's.");
        }
    }

    /// <summary>A transactional producer with the publisher's settings (acks=all, idempotent, 5 in flight), transactions initialized.</summary>
    public static IProducer<byte[]?, byte[]> CreateTransactionalProducer(KafkaMockCluster cluster, string transactionalId)
    {
        var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            MaxInFlight = 5,
            MessageTimeoutMs = 30_000,
            TransactionalId = transactionalId,
        }).SetLogHandler((_, _) => { }).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        return producer;
    }

    /// <summary>
    /// Produces the events in transactions of <paramref name="transactionSize"/> records, one after the other (a
    /// transactional id has one open transaction at a time): begin, produce every record with no delivery handler
    /// (the commit flushes them and reports any failure), commit. Runs on a thread of its own: the calls block.
    /// </summary>
    public static Task<long> SendInTransactionsAsync(IProducer<byte[]?, byte[]> producer, string topic, IReadOnlyList<RecordedEvent> events, int transactionSize) =>
        Task.Factory.StartNew(() =>
        {
            for (var start = 0; start < events.Count; start += transactionSize)
            {
                producer.BeginTransaction();
                for (var i = start; i < Math.Min(events.Count, start + transactionSize); i++)
                {
                    producer.Produce(topic, ToMessage(events[i]));
                }

                producer.CommitTransaction(TimeSpan.FromSeconds(30));
            }

            return (long)events.Count;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>What the publisher counts as a failed delivery: an error, or a record not known to be persisted.</summary>
    public static Exception? Failed(DeliveryReport<byte[]?, byte[]> report) =>
        report.Error.IsError ? new KafkaException(report.Error)
        : report.Status != PersistenceStatus.Persisted ? new InvalidOperationException($"Delivery status {report.Status}.")
        : null;

    /// <summary>How many records the topic holds: the sum of its partitions' high watermarks (control records of transactions included).</summary>
    public static long CountRecords(KafkaMockCluster cluster, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "bench-marks" })
            .SetLogHandler((_, _) => { }).Build();
        return Enumerable.Range(0, Partitions).Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    /// <summary>Throws unless the topic holds at least <paramref name="expected"/> records: the run really published everything it counted.</summary>
    public static void CheckPublished(KafkaMockCluster cluster, string topic, long expected)
    {
        var found = CountRecords(cluster, topic);
        if (found < expected)
        {
            throw new InvalidOperationException($"Topic {topic} holds {found} records; {expected} were published.");
        }
    }

    /// <summary>What a read_committed consumer sees on the topic: the records and their distinct ce_id values.</summary>
    public static (long Records, long DistinctIds) ReadCommitted(KafkaMockCluster cluster, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "bench-check-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = true,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).SetLogHandler((_, _) => { }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var open = Enumerable.Range(0, partitions).ToHashSet();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        long records = 0;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (open.Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Reading {topic} did not reach the end of partitions {string.Join(',', open)}.");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                open.Remove(result.Partition.Value);
                continue;
            }

            records++;
            if (result.Message.Headers.TryGetLastBytes("ce_id", out var id))
            {
                ids.Add(Encoding.ASCII.GetString(id));
            }
        }

        consumer.Close();
        return (records, ids.Count);
    }

    /// <summary>Produces every event with no bound on what is in flight (librdkafka's own queue is the bound), then waits for every acknowledgement.</summary>
    public static Task<long> SendAllAsync(IProducer<byte[]?, byte[]> producer, string topic, IEnumerable<RecordedEvent> events, LatencyRecorder? latencies) =>
        SendAllAsync(producer, events.Select(e => (topic, ToMessage(e))), latencies);

    /// <summary>Produces every record with no bound on what is in flight (librdkafka's own queue is the bound), then waits for every acknowledgement.</summary>
    public static async Task<long> SendAllAsync(IProducer<byte[]?, byte[]> producer, IEnumerable<(string Topic, Message<byte[]?, byte[]> Message)> records, LatencyRecorder? latencies)
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

        void Delivered(DeliveryReport<byte[]?, byte[]> report)
        {
            if (Failed(report) is { } error)
            {
                done.TrySetException(error);
            }

            Completed();
        }

        Action<DeliveryReport<byte[]?, byte[]>> delivered = Delivered; // one handler for every record when no latency is kept
        foreach (var (topic, message) in records)
        {
            var start = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref pending);
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, latencies is null ? delivered : report =>
                    {
                        latencies.Record(start);
                        Delivered(report);
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
