using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>How one of our append + publish rows is set up.</summary>
internal sealed record AppendSetup(string Scenario, bool Sqlite, PublishMode Mode, int Appenders, bool ExactlyOnce = false)
{
    public string Contender =>
        $"SystemOfRecord ({Mode}{(ExactlyOnce ? ", exactly-once" : "")}) + {(Sqlite ? "SqliteEventStore" : "InMemoryEventStore")} + KafkaEventPublisher, {Appenders} appenders";
}

/// <summary>
/// Append, then publish to Kafka (mock cluster, 3 brokers, replication 3, acks=all), with the in-memory store (the
/// publish path alone) and with SQLite (synchronous=FULL), against the raw producer and the raw SQLite + producer.
/// </summary>
internal static class KafkaAppend
{
    public const string Name = "Append + publish, SQLite + Kafka";
    public const string InMemoryName = "Append + publish, in-memory + Kafka";
    public const string LagName = "Publish lag at half throughput";

    public const string RawProducer = "raw Confluent.Kafka producer, pipelined";
    public const string RawSqliteProducer = "raw SQLite group insert, then each committed batch produced, pipelined";

    /// <summary>
    /// Our row: <see cref="AppendSetup.Appenders"/> loops append and await each append before the next. Committed rows
    /// run with publish recovery (the durable cursor that mode is meant for) and stop the clock when the last event is
    /// acknowledged (WhenPublishedAsync of the newest event: the cursor only passes it once every earlier event is
    /// acknowledged too); Acknowledged rows (default options) stop it when the last append returned.
    /// </summary>
    public static async Task<Result> OursAsync(Settings settings, KafkaMockCluster cluster, AppendSetup setup)
    {
        using var scratch = new Scratch("kafka-append");
        var topic = RawKafka.CreateTopic(cluster, "ours-" + setup.Mode.ToString().ToLowerInvariant() + (setup.Sqlite ? "-sqlite-" : "-memory-") + setup.Appenders, partitions: setup.ExactlyOnce ? ExactlyOnce.Partitions : RawKafka.Partitions);
        await using var run = OpenSystem(scratch, cluster, setup, topic);
        var system = run.System;
        var messages = Enumerable.Range(0, settings.KafkaAppendEvents).Select(Workload.Message).ToArray();

        await AppendAllAsync(system, setup.Appenders, settings.WarmupEvents, messages, null);

        var latencies = new LatencyRecorder(settings.KafkaAppendEvents);
        using var metrics = new LibraryMetrics();
        using var meter = RunMeter.Start();
        metrics.Start();
        await AppendAllAsync(system, setup.Appenders, settings.KafkaAppendEvents, messages, latencies);
        metrics.Stop();
        var result = meter.Stop(setup.Scenario, setup.Contender, Role.Ours, settings.KafkaAppendEvents, latencies, Join(Describe(setup), metrics.CommitSummary));

        var status = system.GetPublishStatus();
        if (status.Backlog != 0 || status.Parked != 0)
        {
            throw new InvalidOperationException($"After the run the pipeline still has {status.Backlog} events in its backlog and parked {status.Parked}.");
        }

        await run.DisposeAsync();
        var expected = settings.WarmupEvents + settings.KafkaAppendEvents;
        if (setup.ExactlyOnce)
        {
            var (records, distinct) = RawKafka.ReadCommitted(cluster, topic, ExactlyOnce.Partitions);
            if (records != expected || distinct != expected)
            {
                throw new InvalidOperationException($"Exactly-once: a read_committed consumer sees {records} records with {distinct} distinct ids; {expected} events were appended.");
            }

            return result with { Note = result.Note + $"; checked: a read_committed consumer sees {records:N0} records, {distinct:N0} distinct ids, for {expected:N0} appends" };
        }

        RawKafka.CheckPublished(cluster, topic, expected);
        return result;
    }

    /// <summary>
    /// SQLite + Kafka in Committed mode, paced by a token bucket at <paramref name="perSecond"/> events per second shared
    /// by the appenders. The row's latencies are the library's own <c>sor.publish.duration</c> (commit to acknowledgement,
    /// per event); the note adds what a caller sees: from AppendAsync's return to WhenPublishedAsync's.
    /// </summary>
    public static async Task<Result> PublishLagAsync(Settings settings, KafkaMockCluster cluster, double perSecond)
    {
        var setup = new AppendSetup(LagName, Sqlite: true, PublishMode.Committed, settings.Appenders);
        using var scratch = new Scratch("kafka-lag");
        var topic = RawKafka.CreateTopic(cluster, "ours-lag");
        await using var run = OpenSystem(scratch, cluster, setup, topic);
        var system = run.System;
        var messages = Enumerable.Range(0, settings.KafkaAppendEvents).Select(Workload.Message).ToArray();
        await AppendAllAsync(system, setup.Appenders, settings.WarmupEvents, messages, null);

        using var lag = new LibraryMetrics(publishLagCapacity: settings.KafkaAppendEvents);
        var seen = new LatencyRecorder(settings.KafkaAppendEvents);
        var published = new Task[settings.KafkaAppendEvents];
        using var meter = RunMeter.Start();
        var pacer = new Pacer(perSecond); // after the meter's GCs, so no tokens pile up before the clock starts
        lag.Start();
        await Concurrently.RunAsync(setup.Appenders, settings.KafkaAppendEvents, async i =>
        {
            await pacer.WaitAsync();
            var recorded = await system.AppendAsync(messages[i], Workload.Key(i));
            published[i] = Seen(system.WhenPublishedAsync(recorded), Stopwatch.GetTimestamp());
        }, null);
        await Task.WhenAll(published);
        lag.Stop();
        var result = meter.Stop(LagName, $"{setup.Contender}, paced at {perSecond:N0} events/s", Role.Ours, settings.KafkaAppendEvents, lag.PublishLag);
        var (_, callerP99) = seen.Percentiles();
        await run.DisposeAsync();
        RawKafka.CheckPublished(cluster, topic, settings.WarmupEvents + settings.KafkaAppendEvents);
        return result with
        {
            Note = $"a token bucket releases {perSecond:N0} appends/s (half the Committed SQLite + Kafka row) to {setup.Appenders} appenders; p50/p99 are sor.publish.duration (commit to broker acknowledgement) of {lag.PublishLag.Count:N0} events, read with a MeterListener; "
                + $"from AppendAsync's return to WhenPublishedAsync's completion the p99 is {callerP99 / 1000:F1} ms; {lag.CommitSummary}",
        };

        async Task Seen(Task whenPublished, long returned)
        {
            await whenPublished;
            seen.Record(returned);
        }
    }

    /// <summary>The same records through one producer with every record in flight at once, no store.</summary>
    public static async Task<Result> RawAsync(Settings settings, KafkaMockCluster cluster)
    {
        var topic = RawKafka.CreateTopic(cluster, "raw-append");
        using var producer = RawKafka.CreateProducer(cluster);
        var events = RawSqlite.Events(settings.KafkaAppendEvents + settings.WarmupEvents, topic);
        await RawKafka.SendAllAsync(producer, topic, events.GetRange(0, settings.WarmupEvents), null);

        var latencies = new LatencyRecorder(settings.KafkaAppendEvents);
        using var meter = RunMeter.Start();
        await RawKafka.SendAllAsync(producer, topic, events.GetRange(settings.WarmupEvents, settings.KafkaAppendEvents), latencies);
        return meter.Stop(InMemoryName, RawProducer, Role.Raw, settings.KafkaAppendEvents, latencies,
            "the events are built before the clock; one loop turns each into the publisher's record (key, value, CloudEvents headers) and produces it with no bound on what is in flight but librdkafka's queue; timed until the last delivery report; same producer settings, no store");
    }

    /// <summary>
    /// The best raw way to store then publish: a writer thread commits batches of the store's batch size and hands each
    /// committed batch to a producer thread, which produces all of it at once (every record in flight).
    /// </summary>
    public static async Task<Result> RawSqliteThenProducerAsync(Settings settings, KafkaMockCluster cluster)
    {
        using var scratch = new Scratch("kafka-raw-sqlite");
        using var connection = RawSqlite.Open(scratch.File("events.db"));
        RawSqlite.Execute(connection, RawSqlite.Schema);
        var topic = RawKafka.CreateTopic(cluster, "raw-sqlite-append");
        using var producer = RawKafka.CreateProducer(cluster);
        var events = RawSqlite.Events(settings.KafkaAppendEvents + settings.WarmupEvents, topic);
        await InsertThenProduceAsync(connection, producer, topic, events.GetRange(0, settings.WarmupEvents));

        using var meter = RunMeter.Start();
        await InsertThenProduceAsync(connection, producer, topic, events.GetRange(settings.WarmupEvents, settings.KafkaAppendEvents));
        var result = meter.Stop(Name, RawSqliteProducer, Role.Raw, settings.KafkaAppendEvents, null,
            $"the events are built before the clock; a writer thread inserts them {RawSqlite.BatchSize} rows per transaction (synchronous=FULL, the store's table) and hands each committed batch to a producer thread that produces all of it at once; timed until the last delivery report");
        RawKafka.CheckPublished(cluster, topic, settings.WarmupEvents + settings.KafkaAppendEvents);
        return result;
    }

    private static async Task InsertThenProduceAsync(Microsoft.Data.Sqlite.SqliteConnection connection, IProducer<byte[]?, byte[]> producer, string topic, List<RecordedEvent> events)
    {
        var acknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long pending = events.Count;
        void Delivered(DeliveryReport<byte[]?, byte[]> report)
        {
            if (RawKafka.Failed(report) is { } error)
            {
                acknowledged.TrySetException(error);
            }
            else if (Interlocked.Decrement(ref pending) == 0)
            {
                acknowledged.TrySetResult();
            }
        }

        using var committed = new BlockingCollection<(int Start, int End)>();
        var produced = Task.Factory.StartNew(() =>
        {
            foreach (var (start, end) in committed.GetConsumingEnumerable())
            {
                for (var i = start; i < end; i++)
                {
                    var message = RawKafka.ToMessage(events[i]);
                    while (true)
                    {
                        try
                        {
                            producer.Produce(topic, message, Delivered);
                            break;
                        }
                        catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                        {
                            Thread.Sleep(1); // librdkafka's queue is full: let acknowledgements drain it
                        }
                    }
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        try
        {
            // A producer thread of its own: producing batch k overlaps the fsync of batch k + 1 (measured faster than producing inline).
            await RawSqlite.InsertOnWriterThreadAsync(connection, events, (start, end) => committed.Add((start, end)));
        }
        finally
        {
            committed.CompleteAdding();
        }

        await produced;
        await acknowledged.Task;
    }

    /// <summary>A system of record for <paramref name="setup"/>, with its store and publisher, disposed together.</summary>
    private static OpenedSystem OpenSystem(Scratch scratch, KafkaMockCluster cluster, AppendSetup setup, string topic)
    {
        var options = new KafkaPublisherOptions { BootstrapServers = cluster.BootstrapServers };
        if (setup.ExactlyOnce)
        {
            ExactlyOnce.Enable(options);
        }

        IEventStore store = setup.Sqlite
            ? new SqliteEventStore(new SqliteStoreOptions { ConnectionString = "Data Source=" + scratch.File("events.db"), Synchronous = SqliteSynchronousMode.Full })
            : new InMemoryEventStore();
        if (setup.Mode == PublishMode.Acknowledged)
        {
            options.ProducerSettings["linger.ms"] = "0"; // what UseKafka sets in this mode: every append waits for its acknowledgement
        }

        var publisher = new KafkaEventPublisher(Options.Create(options));
        var system = new SystemOfRecord(
            store,
            publisher,
            Options.Create(new SystemOfRecordOptions
            {
                BucketIncrement = Workload.Increment,
                DefaultTopic = topic,
                PublishMode = setup.Mode,
                InstanceName = "bench-" + Guid.NewGuid().ToString("N")[..12], // a fresh cursor, lease and transactional id per run
            }),
            publishRecovery: setup.Mode == PublishMode.Committed ? new PublishRecoveryOptions() : null);
        return new OpenedSystem(system, publisher, store);
    }

    /// <summary>
    /// <paramref name="count"/> appends from <paramref name="appenders"/> loops; in Committed mode then waits until the
    /// newest event is published (so every event is).
    /// </summary>
    private static async Task AppendAllAsync(SystemOfRecord system, int appenders, int count, string[] messages, LatencyRecorder? latencies)
    {
        var last = new RecordedEvent?[appenders];
        await Concurrently.RunAsync(appenders, count, async i => last[i % appenders] = await system.AppendAsync(messages[i], Workload.Key(i)), latencies);
        if (system.PublishMode == PublishMode.Committed && last.Where(e => e is not null).MaxBy(e => e!.EventId) is { } newest)
        {
            await system.WhenPublishedAsync(newest);
        }
    }

    private static string Join(string note, string more) => more.Length == 0 ? note : note + "; " + more;

    private static string Describe(AppendSetup setup)
    {
        var store = setup.Sqlite ? "SQLite (synchronous=FULL, group commit)" : "the in-memory store";
        return setup.Mode == PublishMode.Committed
            ? $"{setup.Appenders} appenders each await AppendAsync (it returns once {store} committed) before the next; publish recovery on (the durable cursor), up to {SystemOfRecordOptions.DefaultMaxPublishesInFlight} publishes in flight{(setup.ExactlyOnce ? $", in Kafka transactions that carry the cursor, to a topic of {ExactlyOnce.Partitions} partitions (the mock cluster keeps only about 5 MB per partition)" : "")}; the clock stops when the last event is acknowledged (WhenPublishedAsync of the newest); p50/p99 are AppendAsync's"
            : $"{setup.Appenders} appenders each await AppendAsync, which returns once {store} committed the event and Kafka acknowledged it; default options (no publish recovery); the clock stops when the last append returns";
    }

    private sealed class OpenedSystem(SystemOfRecord system, KafkaEventPublisher publisher, IEventStore store) : IAsyncDisposable
    {
        private bool _disposed;

        public SystemOfRecord System { get; } = system;

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await System.DisposeAsync();
            await publisher.DisposeAsync();
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }
}
