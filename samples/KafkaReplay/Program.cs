// KafkaReplay: records events in the system of record, publishes them to Kafka, has the broker lose some
// acknowledged records, lets the downstream consumer find the gap, replays the range, and shows the consumer whole.
// Then publishes orders exactly once (KafkaPublisherOptions.ExactlyOnce) and reads them as a read_committed consumer.
//
//   dotnet run --project samples/KafkaReplay                                   (in-process mock cluster)
//   dotnet run --project samples/KafkaReplay -- --bootstrap-servers HOST:PORT  (a real Kafka)
//   dotnet run -c Release --project samples/KafkaReplay -- --throughput [N]    (publish throughput, mock cluster)
using System.Collections.Concurrent;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using EventSourcing.SystemOfRecord;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

const int Partitions = 3;
const int FirstBatch = 60;
const int SecondBatch = 20;

if (args.Contains("--throughput"))
{
    var countIndex = Array.IndexOf(args, "--throughput") + 1;
    await Throughput.RunAsync(countIndex < args.Length && int.TryParse(args[countIndex], out var n) ? n : 200_000);
    return 0;
}

var bootstrapIndex = Array.IndexOf(args, "--bootstrap-servers");
var realKafka = bootstrapIndex >= 0 && bootstrapIndex + 1 < args.Length ? args[bootstrapIndex + 1] : null;
using var mock = realKafka is null ? new KafkaMockCluster(brokers: 3) : null;
var bootstrapServers = realKafka ?? mock!.BootstrapServers;
var topic = "kafka-replay-orders-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss");
Console.WriteLine(mock is null
    ? $"Kafka at {bootstrapServers}, topic {topic}."
    : $"Mock Kafka cluster (librdkafka, 3 brokers) at {bootstrapServers}, topic {topic}.");
await CreateTopicAsync();

// The downstream: applies each order once (the core's IdempotentEventHandler dedupes by event id), whatever the
// broker delivers twice.
var applied = new ConcurrentDictionary<TimeUuid, int>();
var applications = 0;
var downstream = new IdempotentEventHandler(
    (e, _) =>
    {
        Interlocked.Increment(ref applications);
        applied[e.EventId] = int.Parse(e.Headers["seq"]);
        return ValueTask.CompletedTask;
    },
    new InMemoryProcessedEventLog());

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services
    .AddSystemOfRecord(o => { o.DefaultTopic = topic; o.BucketIncrement = TimeSpan.FromSeconds(1); })
    .UseInMemory()
    .UseKafka(k => k.BootstrapServers = bootstrapServers);
builder.Services.AddKafkaEventConsumer(
    o =>
    {
        o.BootstrapServers = bootstrapServers;
        o.Topic = topic;
        o.GroupId = "kafka-replay-downstream";
        o.ConsumerSettings["auto.offset.reset"] = "earliest";
        o.ConsumerSettings["topic.metadata.refresh.interval.ms"] = "1000";
    },
    downstream.HandleAsync);
using var host = builder.Build();
var system = host.Services.GetRequiredService<SystemOfRecord>();

// 1. Record and publish while the downstream is offline.
var incidentStart = DateTime.UtcNow;
await Task.WhenAll(Enumerable.Range(1, FirstBatch).Select(seq => RecordAsync(seq)));
Console.WriteLine($"1. Recorded {FirstBatch} orders; Kafka acknowledged each one (acks=all).");

// 2. The broker loses acknowledged records: the first half of every partition's log.
var lost = await LoseRecordsAsync();
var incidentEnd = DateTime.UtcNow;
Console.WriteLine($"2. The broker lost {lost} acknowledged records.");

// 3. The downstream comes online, consumes what Kafka still has, and new orders keep coming.
await host.StartAsync();
await Task.WhenAll(Enumerable.Range(FirstBatch + 1, SecondBatch).Select(seq => RecordAsync(seq)));
await WaitAsync(() => applied.Count >= FirstBatch + SecondBatch - lost, "the downstream caught up");
var missing = Enumerable.Range(1, FirstBatch + SecondBatch).Except(applied.Values).ToList();
Console.WriteLine($"3. The downstream applied {applied.Count} orders and detected a gap: {missing.Count} missing (seq {Ranges(missing)}).");

// 4. Replay the incident's range from the system of record, bucket by bucket.
var republished = await system.RepublishDateRangeAsync(incidentStart, incidentEnd);
Console.WriteLine($"4. Replayed {system.GetBucket(incidentStart):HH:mm:ss} to {incidentEnd:HH:mm:ss.fff} UTC, whole 1-second buckets "
    + $"(the last also holds later orders): {republished} events republished.");

// 5. The downstream is whole; the replay's duplicates were absorbed by event id.
var deliveries = FirstBatch - lost + SecondBatch + republished;
await WaitAsync(() => Volatile.Read(ref applications) + downstream.DuplicateCount >= deliveries, "every delivery was handled");
var stillMissing = Enumerable.Range(1, FirstBatch + SecondBatch).Except(applied.Values).Count();
Console.WriteLine($"5. The downstream is whole: {applied.Count} of {FirstBatch + SecondBatch} orders, {stillMissing} missing, "
    + $"each applied once ({Volatile.Read(ref applications)} applications, {downstream.DuplicateCount} duplicate deliveries ignored).");
await host.StopAsync();

// 6. Exactly once: the events travel in Kafka transactions with the publish cursor, so a read_committed consumer
//    gets each one once, with no dedupe of its own, even across crashes and restarts (kill -9 included).
var exactlyOnce = await PublishExactlyOnceAsync();
Console.WriteLine($"6. Exactly once (KafkaPublisherOptions.ExactlyOnce, PublishMode.Committed): {exactlyOnce.Stored} orders stored, "
    + $"published in Kafka transactions with the cursor; a read_committed consumer read {exactlyOnce.Records} records, {exactlyOnce.Distinct} distinct event ids.");
return stillMissing == 0 && exactlyOnce.Records == exactlyOnce.Stored && exactlyOnce.Distinct == exactlyOnce.Stored ? 0 : 1;

async Task<(int Stored, int Records, int Distinct)> PublishExactlyOnceAsync()
{
    const int Orders = 500;
    var eosTopic = topic + "-exactly-once";
    var cursorTopic = mock is null ? KafkaPublisherOptions.DefaultCursorTopic : "kafka-replay-publish-cursors";
    if (mock is not null)
    {
        mock.CreateTopic(eosTopic, Partitions);
        mock.CreateTopic(cursorTopic, 1); // a real broker gets it from the publisher (compacted); the mock cannot create topics
    }
    else
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = eosTopic, NumPartitions = Partitions, ReplicationFactor = -1 }]);
    }

    var eosBuilder = Host.CreateApplicationBuilder();
    eosBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
    eosBuilder.Services
        .AddSystemOfRecord(o =>
        {
            o.DefaultTopic = eosTopic;
            o.BucketIncrement = TimeSpan.FromSeconds(1);
            o.InstanceName = "kafka-replay-orders";
            o.PublishMode = PublishMode.Committed; // appends return once stored; the pipeline publishes in transactions of up to 1 000
        })
        .UseInMemory() // any store with checkpoints; the cursor lives there too (publish recovery)
        .UseKafka(k =>
        {
            k.BootstrapServers = bootstrapServers;
            k.ExactlyOnce = true;
            k.CursorTopic = cursorTopic;
        })
        .WithPublishRecovery();
    using var eosHost = eosBuilder.Build();
    await eosHost.StartAsync();
    var orders = eosHost.Services.GetRequiredService<SystemOfRecord>();
    var recorded = await Task.WhenAll(Enumerable.Range(1, Orders).Select(seq => orders.AppendAsync($"{{\"order\":{seq}}}", key: $"customer-{seq % 7}").AsTask()));
    await orders.WhenPublishedAsync(recorded.MaxBy(e => e.EventId)!);
    await eosHost.StopAsync();

    // A plain consumer with isolation.level=read_committed (librdkafka's default, said out loud here).
    using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
    {
        BootstrapServers = bootstrapServers,
        GroupId = "kafka-replay-exactly-once-reader",
        IsolationLevel = IsolationLevel.ReadCommitted,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnablePartitionEof = true,
    }).Build();
    consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(eosTopic, p, Offset.Beginning)));
    var ids = new List<string>();
    var atEnd = new HashSet<int>();
    var deadline = DateTime.UtcNow.AddSeconds(30);
    while (atEnd.Count < Partitions && DateTime.UtcNow < deadline)
    {
        if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is not { } result)
        {
            continue;
        }

        if (result.IsPartitionEOF)
        {
            atEnd.Add(result.Partition.Value);
        }
        else if (result.Message.Headers.TryGetLastBytes("ce_id", out var id))
        {
            ids.Add(System.Text.Encoding.ASCII.GetString(id));
        }
    }

    consumer.Close();
    return (recorded.Length, ids.Count, ids.Distinct().Count());
}

Task RecordAsync(int seq) =>
    system.AppendAsync($"{{\"order\":{seq}}}", key: $"customer-{seq % 7}", headers: new Dictionary<string, string> { ["seq"] = seq.ToString() }).AsTask();

async Task CreateTopicAsync()
{
    if (mock is not null)
    {
        mock.CreateTopic(topic, Partitions);
        return;
    }

    using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
    await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = Partitions, ReplicationFactor = -1 }]);
}

async Task<long> LoseRecordsAsync()
{
    using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "kafka-replay-admin" }).Build();
    var cuts = Enumerable.Range(0, Partitions)
        .Select(p => new TopicPartitionOffset(topic, p, consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value / 2))
        .ToList();
    if (mock is not null)
    {
        // The mock broker loses them directly (rd_kafka_mock_partition_delete_records).
        cuts.ForEach(c => mock.DeleteRecords(topic, c.Partition.Value, c.Offset.Value));
    }
    else
    {
        // A real broker is told to drop them (DeleteRecords), as retention or an unclean failover would.
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        await admin.DeleteRecordsAsync(cuts);
    }

    return cuts.Sum(c => c.Offset.Value);
}

static async Task WaitAsync(Func<bool> condition, string what)
{
    var deadline = DateTime.UtcNow.AddSeconds(60);
    while (!condition())
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"Timed out waiting until {what}.");
        }

        await Task.Delay(100);
    }
}

static string Ranges(List<int> values)
{
    var parts = new List<string>();
    for (var i = 0; i < values.Count;)
    {
        var j = i;
        while (j + 1 < values.Count && values[j + 1] == values[j] + 1)
        {
            j++;
        }

        parts.Add(i == j ? $"{values[i]}" : $"{values[i]}-{values[j]}");
        i = j + 1;
    }

    return string.Join(", ", parts);
}
