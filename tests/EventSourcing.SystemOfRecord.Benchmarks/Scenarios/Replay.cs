using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>Replay of a day of 15 s buckets from one SQLite file, seeded once, to an in-memory sink and to Kafka.</summary>
internal sealed class Replay : IDisposable
{
    public const string ToMemory = "Replay SQLite to memory";
    public const string ToKafka = "Replay SQLite to Kafka";

    private readonly Scratch _scratch = new("replay");
    private bool _topicCreated;

    private Replay(int events) => Events = events;

    public int Events { get; private set; }

    public string File => _scratch.File("events.db");

    private DateTime End => Workload.Day.AddDays(1);

    /// <summary>Writes <paramref name="events"/> events spread over one day through the store (synchronous=OFF to seed fast).</summary>
    public static async Task<Replay> SeedAsync(int events)
    {
        var replay = new Replay(events);
        await using var store = new SqliteEventStore(new SqliteStoreOptions
        {
            ConnectionString = "Data Source=" + replay.File,
            Synchronous = SqliteSynchronousMode.Off,
            MaxBatchSize = 20_000,
        });
        await store.EnsureCreatedAsync(Workload.Increment);
        const int Chunk = 50_000;
        for (var start = 0; start < events; start += Chunk)
        {
            var end = Math.Min(events, start + Chunk);
            var pending = new List<Task>(end - start);
            for (var i = start; i < end; i++)
            {
                pending.Add(store.AppendAsync(Workload.DayEvent(i, events)).AsTask());
            }

            await Task.WhenAll(pending);
        }

        return replay;
    }

    private SqliteEventStore OpenStore() => new(new SqliteStoreOptions { ConnectionString = "Data Source=" + File });

    /// <summary>SystemOfRecord.RepublishDateRangeAsync over the day, into a publisher that only counts.</summary>
    public async Task<Result> OursToMemoryAsync()
    {
        await using var store = OpenStore();
        var sink = new CountingPublisher();
        await using var system = new SystemOfRecord(store, sink, Options.Create(new SystemOfRecordOptions { BucketIncrement = Workload.Increment }));
        await system.RepublishDateRangeAsync(Workload.Day, Workload.Day.AddHours(1)); // warm-up

        using var meter = RunMeter.Start();
        var count = await system.RepublishDateRangeAsync(Workload.Day, End);
        var result = meter.Stop(ToMemory, "SystemOfRecord.RepublishDateRangeAsync", Role.Ours, count, note: "RepublishDateRangeAsync over the day into a publisher that only counts: one ordered range query streamed through the publish pipeline; timed until it returns");
        Check(count);
        return result;
    }

    /// <summary>ReplayDateRangeAsync with a strategy that reads each bucket (ReadBucketAsync): one query per 15 s bucket.</summary>
    public async Task<Result> OursBucketByBucketAsync()
    {
        await using var store = OpenStore();
        var sink = new CountingPublisher();
        await using var system = new SystemOfRecord(store, sink, Options.Create(new SystemOfRecordOptions { BucketIncrement = Workload.Increment }));
        async ValueTask Strategy(DateTime bucket, CancellationToken cancellationToken)
        {
            await foreach (var e in system.ReadBucketAsync(bucket, cancellationToken))
            {
                await sink.PublishAsync(e, cancellationToken);
            }
        }

        await system.ReplayDateRangeAsync(Workload.Day, Workload.Day.AddHours(1), Strategy); // warm-up
        var before = sink.Count;
        using var meter = RunMeter.Start();
        await system.ReplayDateRangeAsync(Workload.Day, End, Strategy);
        var count = sink.Count - before;
        var result = meter.Stop(ToMemory, "SystemOfRecord.ReplayDateRangeAsync, bucket by bucket", Role.Ours, count, note: "ReplayDateRangeAsync with a strategy that reads each of the 5,760 buckets (one ReadBucketAsync query each) and hands its events to the counting publisher; timed until it returns");
        Check(count);
        return result;
    }

    /// <summary>One connection, the same ordered range query, every column read (no RecordedEvent built).</summary>
    public Task<Result> RawScanAsync()
    {
        using var connection = RawSqlite.Open(File);
        Scan(connection, Workload.Day, Workload.Day.AddHours(1)); // warm-up
        using var meter = RunMeter.Start();
        var count = Scan(connection, Workload.Day, End);
        var result = meter.Stop(ToMemory, "raw Microsoft.Data.Sqlite scan", Role.Raw, count, note: "one connection runs the same ORDER BY time_bucket, event_id range query and reads every column, building nothing; timed until the last row");
        Check(count);
        return Task.FromResult(result);
    }

    private static long Scan(SqliteConnection connection, DateTime from, DateTime to)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT time_bucket, event_id, message, topic, key, headers FROM events WHERE time_bucket >= $from AND time_bucket < $to ORDER BY time_bucket, event_id";
        command.Parameters.AddWithValue("$from", RawSqlite.UnixTicks(from));
        command.Parameters.AddWithValue("$to", RawSqlite.UnixTicks(to));
        using var reader = command.ExecuteReader();
        long count = 0;
        long checksum = 0;
        while (reader.Read())
        {
            checksum += reader.GetInt64(0);
            // GetFieldValue<byte[]>, not GetBytes: Microsoft.Data.Sqlite 10 serves GetBytes through a blob stream, ~10x slower.
            checksum += reader.GetFieldValue<byte[]>(1).Length;
            checksum += reader.GetString(2).Length + reader.GetString(3).Length + (reader.IsDBNull(4) ? 0 : reader.GetString(4).Length) + (reader.IsDBNull(5) ? 0 : 1);
            count++;
        }

        GC.KeepAlive(checksum);
        return count;
    }

    /// <summary>
    /// Rows of the range as the publisher's records, read the cheapest raw way: key and message come out of SQLite as
    /// their UTF-8 bytes (no strings), the CloudEvents header values are formatted straight into bytes.
    /// </summary>
    private static IEnumerable<(string Topic, Confluent.Kafka.Message<byte[]?, byte[]> Message)> ReadRawRecords(SqliteConnection connection, DateTime from, DateTime to)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT time_bucket, event_id, message, topic, key FROM events WHERE time_bucket >= $from AND time_bucket < $to ORDER BY time_bucket, event_id";
        command.Parameters.AddWithValue("$from", RawSqlite.UnixTicks(from));
        command.Parameters.AddWithValue("$to", RawSqlite.UnixTicks(to));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var id = FromSortableKey(reader.GetFieldValue<byte[]>(1));
            var bucket = new DateTime(DateTime.UnixEpoch.Ticks + reader.GetInt64(0), DateTimeKind.Utc);
            yield return (reader.GetString(3), RawKafka.ToMessage(
                reader.IsDBNull(4) ? null : reader.GetFieldValue<byte[]>(4),
                reader.GetFieldValue<byte[]>(2),
                id,
                id.GetTimestamp().UtcDateTime,
                bucket));
        }
    }

    private static TimeUuid FromSortableKey(byte[] key)
    {
        var ticks = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(key);
        var msb = ((ticks & 0xFFFF_FFFF) << 32) | (((ticks >> 32) & 0xFFFF) << 16) | 0x1000 | ((ticks >> 48) & 0x0FFF);
        var lsb = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(8)) ^ 0x8080_8080_8080_8080;
        Span<byte> canonical = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(canonical, msb);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(canonical[8..], lsb);
        return new TimeUuid(canonical);
    }

    /// <summary>SystemOfRecord.RepublishDateRangeAsync over the day to KafkaEventPublisher.</summary>
    public async Task<Result> OursToKafkaAsync(KafkaMockCluster cluster, int events)
    {
        if (!_topicCreated)
        {
            RawKafka.CreateTopic(cluster, Workload.Topic, exact: true); // once: every round publishes to the topic the stored events name
            _topicCreated = true;
        }

        await using var store = OpenStore();
        await using var publisher = new KafkaEventPublisher(Options.Create(new KafkaPublisherOptions { BootstrapServers = cluster.BootstrapServers }));
        await using var system = new SystemOfRecord(store, publisher, Options.Create(new SystemOfRecordOptions { BucketIncrement = Workload.Increment }));
        await system.RepublishDateRangeAsync(Workload.Day, Workload.Day.AddMinutes(10)); // warm-up
        var end = EndFor(events);
        using var meter = RunMeter.Start();
        var count = await system.RepublishDateRangeAsync(Workload.Day, end);
        return meter.Stop(ToKafka, "SystemOfRecord.RepublishDateRangeAsync + KafkaEventPublisher", Role.Ours, count,
            note: $"RepublishDateRangeAsync over the range: one ordered range query streamed into the publish pipeline (up to {SystemOfRecordOptions.DefaultMaxPublishesInFlight:N0} publishes in flight); timed until it returns, which is after the last acknowledgement");
    }

    /// <summary>The raw scan feeding the raw producer, every record in flight.</summary>
    public async Task<Result> RawToKafkaAsync(KafkaMockCluster cluster, int events)
    {
        var topic = RawKafka.CreateTopic(cluster, "raw-replay");
        using var connection = RawSqlite.Open(File);
        using var producer = RawKafka.CreateProducer(cluster);
        await RawKafka.SendAllAsync(producer, ReadRawRecords(connection, Workload.Day, Workload.Day.AddMinutes(10)).Select(r => (topic, r.Message)), null); // warm-up
        var end = EndFor(events);
        using var meter = RunMeter.Start();
        var count = await RawKafka.SendAllAsync(producer, ReadRawRecords(connection, Workload.Day, end).Select(r => (topic, r.Message)), null);
        return meter.Stop(ToKafka, "raw scan + raw Confluent.Kafka producer, pipelined", Role.Raw, count,
            note: "one loop reads the same ordered range query (key and message as UTF-8 bytes, no strings), builds each record (header values formatted straight into bytes) and produces it with no bound on what is in flight but librdkafka's queue; timed until the last delivery report (to a topic of its own)");
    }

    /// <summary>The end of the range that holds the first <paramref name="events"/> events (the whole day when all).</summary>
    private DateTime EndFor(int events) => events >= Events ? End : Workload.Day.AddTicks(TimeSpan.TicksPerDay / Events * events);

    private void Check(long count)
    {
        if (count != Events)
        {
            throw new InvalidOperationException($"Replayed {count} events of {Events}.");
        }
    }

    public void Dispose() => _scratch.Dispose();
}
