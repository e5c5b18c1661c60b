using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Cassandra;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>
/// The Cassandra store's client against the CQL test server of the Cassandra tests, in this process, on loopback:
/// what the client (and that small in-memory server) costs per append and per bucket read, with and without LZ4 frame
/// compression. Not a Cassandra measurement: no real node, no disk, no replication, no network.
/// </summary>
internal static class CassandraClient
{
    public const string Append = "Cassandra append (client + test server, not Cassandra)";
    public const string Read = "Cassandra bucket read (client + test server, not Cassandra)";

    private const string Label = "client overhead against the in-process CQL test server on loopback (one node, in-memory tables); not a Cassandra measurement";
    private const int EventsPerBucket = 1_000;
    private const int ReadPasses = 5;

    /// <summary><see cref="Settings.AppendEvents"/> appends from <see cref="Settings.Appenders"/> concurrent appenders, each to the current bucket.</summary>
    public static async Task<Result> AppendAsync(Settings settings, CassandraCompression compression)
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = Open(server, compression);
        await store.EnsureCreatedAsync(Workload.Increment);
        var now = DateTime.UtcNow;
        var bucket = new DateTime(now.Ticks - ((now.Ticks - DateTime.UnixEpoch.Ticks) % Workload.Increment.Ticks), DateTimeKind.Utc);
        var events = Enumerable.Range(0, settings.WarmupEvents + settings.AppendEvents)
            .Select(i => new RecordedEvent(bucket, TimeUuid.Create(), Workload.Topic, Workload.Key(i), Workload.Message(i)))
            .ToArray();
        await Concurrently.RunAsync(settings.Appenders, settings.WarmupEvents, async i => await store.AppendAsync(events[i]), null);

        var latencies = new LatencyRecorder(settings.AppendEvents);
        using var meter = RunMeter.Start();
        await Concurrently.RunAsync(settings.Appenders, settings.AppendEvents, async i => await store.AppendAsync(events[settings.WarmupEvents + i]), latencies);
        var wire = server.WireBytes;
        var result = meter.Stop(Append, Contender("CassandraEventStore.AppendAsync", compression), Role.Ours, settings.AppendEvents, latencies,
            $"{settings.Appenders} appenders, one prepared INSERT per event at LOCAL_QUORUM; {Label}; {Wire(wire, settings.WarmupEvents + settings.AppendEvents)}");
        Check(server.Database.CountRows("bench", "events"), settings.WarmupEvents + settings.AppendEvents);
        return result;
    }

    /// <summary>Every bucket of <see cref="Settings.AppendEvents"/> events (1,000 per bucket) read with ReadBucketAsync, one bucket after another, five times over.</summary>
    public static async Task<Result> ReadAsync(Settings settings, CassandraCompression compression)
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        var buckets = Math.Max(1, settings.AppendEvents / EventsPerBucket);
        var bucketTimes = Enumerable.Range(0, buckets).Select(b => Workload.Day.AddTicks(Workload.Increment.Ticks * b)).ToArray();
        await using (var seeder = Open(server, CassandraCompression.None))
        {
            await seeder.EnsureCreatedAsync(Workload.Increment);
            var events = Enumerable.Range(0, buckets * EventsPerBucket).Select(i =>
            {
                var at = bucketTimes[i / EventsPerBucket].AddTicks(i % EventsPerBucket * 10_000);
                return new RecordedEvent(bucketTimes[i / EventsPerBucket], TimeUuid.Create(new DateTimeOffset(at)), Workload.Topic, Workload.Key(i), Workload.Message(i));
            }).ToArray();
            await Concurrently.RunAsync(settings.Appenders, events.Length, async i => await seeder.AppendAsync(events[i]), null);
        }

        await using var store = Open(server, compression);
        await ReadAllAsync(store, bucketTimes.Take(1)); // warm-up
        var seeded = server.WireBytes;
        using var meter = RunMeter.Start();
        long count = 0;
        for (var pass = 0; pass < ReadPasses; pass++)
        {
            count += await ReadAllAsync(store, bucketTimes);
        }

        var wire = (server.WireBytes.Received - seeded.Received, server.WireBytes.Sent - seeded.Sent);
        var result = meter.Stop(Read, Contender("CassandraEventStore.ReadBucketAsync", compression), Role.Ours, count,
            note: $"{buckets} buckets of {EventsPerBucket:N0} events, read one after another, {ReadPasses} times over; {Label}; {Wire(wire, count)}");
        Check(count, ReadPasses * buckets * EventsPerBucket);
        return result;
    }

    private static string Wire((long Received, long Sent) bytes, long events) =>
        $"on the wire {(bytes.Received + bytes.Sent) / (double)events:N0} B/event ({bytes.Received / 1048576.0:N1} MB to the server, {bytes.Sent / 1048576.0:N1} MB back)";

    private static CassandraEventStore Open(CqlServerMock server, CassandraCompression compression) =>
        new(Options.Create(new CassandraStoreOptions { ContactPoints = [server.ContactPoint], Keyspace = "bench", Compression = compression }));

    private static string Contender(string operation, CassandraCompression compression) =>
        compression == CassandraCompression.None ? operation + ", uncompressed" : operation + ", LZ4 frames";

    private static async Task<long> ReadAllAsync(CassandraEventStore store, IEnumerable<DateTime> buckets)
    {
        long count = 0;
        foreach (var bucket in buckets)
        {
            await foreach (var e in store.ReadBucketAsync(bucket))
            {
                count += e.Message.Length > 0 ? 1 : 0;
            }
        }

        return count;
    }

    private static void Check(long actual, long expected)
    {
        if (actual != expected)
        {
            throw new InvalidOperationException($"Expected {expected:N0} events; the test server holds or returned {actual:N0}.");
        }
    }
}
