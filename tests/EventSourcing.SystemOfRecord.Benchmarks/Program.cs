using System.Globalization;
using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Benchmarks.Peers;
using EventSourcing.SystemOfRecord.Benchmarks.Scenarios;
using EventSourcing.SystemOfRecord.Kafka.Testing;

namespace EventSourcing.SystemOfRecord.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project tests/EventSourcing.SystemOfRecord.Benchmarks -- [--quick|--full|--micro] [--only NAME,...] [--no-peers] [--out DIR]</c>;
/// the names for <c>--only</c> are idempotent, append, kafka (the Kafka rows and the publish lag), exactly-once and replay.
/// </summary>
internal static class Program
{
    private static readonly List<Result> Results = [];
    private static readonly List<Skipped> Skips = [];

    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--micro"))
        {
            var micro = Path.Combine(Value(args, "--out") ?? DefaultOutput(), "micro");
            Micro.MicroBenchmarks.Run(WithoutValues(args, "--out").Where(a => a != "--micro").ToArray(), micro);
            Console.WriteLine($"BenchmarkDotNet reports (results/*-report-github.md) are in {micro}.");
            return 0;
        }

        var settings = args.Contains("--full") ? Settings.Full : Settings.Quick;
        settings = settings with
        {
            Only = Value(args, "--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
            Peers = !args.Contains("--no-peers"),
        };
        var output = Value(args, "--out") ?? DefaultOutput();
        var started = DateTime.UtcNow;
        var loadAtStart = RunInfo.LoadAverage();
        Console.WriteLine($"Benchmarks, {settings.Mode} mode, {Environment.ProcessorCount} cores, load {loadAtStart}; report to {output}");

        if (settings.Runs("idempotent"))
        {
            await TryAsync(Idempotency.Name, "bare / idempotent handler", async () =>
            {
                var (bare, idempotent) = await Idempotency.RunAsync(settings);
                Add(bare);
                Add(idempotent);
            });
        }

        if (settings.Runs("append"))
        {
            await TryAsync(SqliteAppend.Name, "raw Microsoft.Data.Sqlite", async () => Add(await MedianAsync(settings, () => SqliteAppend.RawAsync(settings))));
            await TryAsync(SqliteAppend.Name, SqliteAppend.Contender(settings.Appenders), async () => Add(await MedianAsync(settings, () => SqliteAppend.OursAsync(settings, settings.Appenders))));
            await TryAsync(SqliteAppend.Name, SqliteAppend.Contender(1024), async () => Add(await SqliteAppend.OursAsync(settings, 1024)));
            if (settings.Peers)
            {
                await TryAsync(SqliteAppend.Name, AkkaAppend.Contender, async () => Add(await AkkaAppend.RunAsync(settings)));
                await TryAsync(SqliteAppend.Name, WolverinePeer.LocalContender, async () => Add(await WolverinePeer.DurableLocalAsync(settings)));
            }
        }

        if (settings.Runs("kafka") || settings.Runs("exactly-once"))
        {
            RawKafka.CheckRecordFormat();
            using var cluster = new KafkaMockCluster(brokers: 3);
            if (settings.Runs("kafka"))
            {
                await RunKafkaAsync(settings, cluster);
            }

            if (settings.Runs("exactly-once"))
            {
                ExactlyOnce.CreateCursorTopic(cluster);
                await TryAsync(ExactlyOnce.Name, ExactlyOnce.RawContender, async () => Add(await MedianAsync(settings, () => ExactlyOnce.RawAsync(settings, cluster))));
                foreach (var sqlite in new[] { false, true })
                {
                    var setup = ExactlyOnce.Setup(settings, sqlite);
                    await TryAsync(ExactlyOnce.Name, setup.Contender, async () => Add(await MedianAsync(settings, () => KafkaAppend.OursAsync(settings, cluster, setup))));
                }
            }
        }

        if (settings.Runs("replay"))
        {
            Console.WriteLine($"Seeding {settings.ReplayEvents:N0} events over a day of 15 s buckets...");
            using var replay = await Replay.SeedAsync(settings.ReplayEvents);
            await TryAsync(Replay.ToMemory, "raw scan", async () => Add(await MedianAsync(settings, replay.RawScanAsync)));
            await TryAsync(Replay.ToMemory, "SystemOfRecord.RepublishDateRangeAsync", async () => Add(await MedianAsync(settings, replay.OursToMemoryAsync)));
            await TryAsync(Replay.ToMemory, "bucket by bucket", async () => Add(await replay.OursBucketByBucketAsync()));
            using var cluster = new KafkaMockCluster(brokers: 3);
            RawKafka.CheckRecordFormat();
            await TryAsync(Replay.ToKafka, "raw scan + producer", async () => Add(await MedianAsync(settings, () => replay.RawToKafkaAsync(cluster, settings.KafkaReplayEvents))));
            await TryAsync(Replay.ToKafka, "SystemOfRecord + KafkaEventPublisher", async () => Add(await MedianAsync(settings, () => replay.OursToKafkaAsync(cluster, settings.KafkaReplayEvents))));
        }

        if (settings.Runs("cassandra"))
        {
            foreach (var compression in new[] { Cassandra.CassandraCompression.None, Cassandra.CassandraCompression.Lz4 })
            {
                await TryAsync(CassandraClient.Append, compression.ToString(), async () => Add(await MedianAsync(settings, () => CassandraClient.AppendAsync(settings, compression))));
            }

            foreach (var compression in new[] { Cassandra.CassandraCompression.None, Cassandra.CassandraCompression.Lz4 })
            {
                await TryAsync(CassandraClient.Read, compression.ToString(), async () => Add(await MedianAsync(settings, () => CassandraClient.ReadAsync(settings, compression))));
            }
        }

        var ordered = Results.OrderBy(r => ScenarioOrder(r.Scenario)).ThenBy(r => r.Role switch { Role.Ours => 0, Role.Raw => 1, _ => 2 }).ToList();
        var info = new RunInfo(
            "dotnet run -c Release --project tests/EventSourcing.SystemOfRecord.Benchmarks -- " + string.Join(' ', WithoutValues(args, "--out", "--load-note")),
            started,
            DateTime.UtcNow - started,
            loadAtStart,
            RunInfo.LoadAverage(),
            Value(args, "--load-note") ?? "");
        var goals = Goals.Evaluate(settings, ordered);
        Report.Write(output, settings, info, ordered, Skips, goals, Peers.Notes.All);
        Console.WriteLine($"Goals (load average at start {info.LoadAtStart}, at end {info.LoadAtEnd}):");
        foreach (var goal in goals)
        {
            Console.WriteLine($"  {(goal.Met switch { true => "met   ", false => "MISSED", null => "n/a   " })} {goal.What}: {goal.Measured} (target {goal.Target})");
        }

        foreach (var skipped in Skips)
        {
            Console.WriteLine($"  not measured: {skipped.Scenario}, {skipped.Contender}: {skipped.Reason}");
        }

        Console.WriteLine($"Wrote {Path.Combine(output, "README.md")} ({(DateTime.UtcNow - started).TotalMinutes:F1} min).");
        return 0;
    }

    /// <summary>
    /// Committed and Acknowledged appends published to Kafka: the raw producer and the in-memory store (the publish path
    /// alone), the raw SQLite + producer and SQLite, the Wolverine outbox, then the publish lag at half the Committed rate.
    /// </summary>
    private static async Task RunKafkaAsync(Settings settings, KafkaMockCluster cluster)
    {
        await TryAsync(KafkaAppend.InMemoryName, KafkaAppend.RawProducer, async () => Add(await MedianAsync(settings, () => KafkaAppend.RawAsync(settings, cluster))));
        var inMemory = new AppendSetup(KafkaAppend.InMemoryName, Sqlite: false, PublishMode.Committed, settings.Appenders);
        await TryAsync(inMemory.Scenario, inMemory.Contender, async () => Add(await MedianAsync(settings, () => KafkaAppend.OursAsync(settings, cluster, inMemory))));

        await TryAsync(KafkaAppend.Name, KafkaAppend.RawSqliteProducer, async () => Add(await MedianAsync(settings, () => KafkaAppend.RawSqliteThenProducerAsync(settings, cluster))));
        var committed = new AppendSetup(KafkaAppend.Name, Sqlite: true, PublishMode.Committed, settings.Appenders);
        Result? committedResult = null;
        await TryAsync(committed.Scenario, committed.Contender, async () => Add(committedResult = await MedianAsync(settings, () => KafkaAppend.OursAsync(settings, cluster, committed))));
        foreach (var appenders in new[] { settings.Appenders, 1024 })
        {
            var acknowledged = new AppendSetup(KafkaAppend.Name, Sqlite: true, PublishMode.Acknowledged, appenders);
            await TryAsync(acknowledged.Scenario, acknowledged.Contender, async () => Add(appenders == settings.Appenders
                ? await MedianAsync(settings, () => KafkaAppend.OursAsync(settings, cluster, acknowledged))
                : await KafkaAppend.OursAsync(settings, cluster, acknowledged)));
        }

        if (settings.Peers)
        {
            await TryAsync(KafkaAppend.Name, WolverinePeer.KafkaContender, async () => Add(await WolverinePeer.KafkaOutboxAsync(settings, cluster)));
        }

        if (committedResult is null)
        {
            Skips.Add(new Skipped(KafkaAppend.LagName, "publish lag", "the Committed SQLite + Kafka row, whose half rate it runs at, was not measured"));
        }
        else
        {
            await TryAsync(KafkaAppend.LagName, "publish lag", async () => Add(await KafkaAppend.PublishLagAsync(settings, cluster, Math.Round(committedResult.EventsPerSecond / 2))));
        }
    }

    private static int ScenarioOrder(string scenario) => scenario switch
    {
        SqliteAppend.Name => 0,
        KafkaAppend.InMemoryName => 1,
        KafkaAppend.Name => 2,
        ExactlyOnce.Name => 3,
        KafkaAppend.LagName => 4,
        Replay.ToMemory => 5,
        Replay.ToKafka => 6,
        CassandraClient.Append => 7,
        CassandraClient.Read => 8,
        _ => 9,
    };

    private static void Add(Result result)
    {
        Results.Add(result);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {result.Scenario,-26} {result.Contender,-70} {result.EventsPerSecond,12:N0} ev/s  p50 {result.P50Microseconds,8:F0} µs  p99 {result.P99Microseconds,9:F0} µs  peak {result.PeakManagedBytes / 1048576.0,7:F1} MB  {result.AllocatedBytesPerEvent,7:F0} B/ev  {result.CpuMicrosecondsPerEvent,6:F2} CPU µs/ev"));
    }

    /// <summary>Runs a contender <see cref="Settings.Rounds"/> times and keeps the median run (by throughput), noting the others.</summary>
    private static async Task<Result> MedianAsync(Settings settings, Func<Task<Result>> run)
    {
        var runs = new List<Result>();
        for (var i = 0; i < settings.Rounds; i++)
        {
            runs.Add(await run());
        }

        if (runs.Count == 1)
        {
            return runs[0];
        }

        var sorted = runs.OrderBy(r => r.EventsPerSecond).ToList();
        var median = sorted[sorted.Count / 2];
        var all = string.Join(", ", runs.Select(r => r.EventsPerSecond.ToString("N0", CultureInfo.InvariantCulture)));
        return median with { Note = (median.Note.Length > 0 ? median.Note + "; " : "") + $"median of {runs.Count} runs ({all} events/s)" };
    }

    private static async Task TryAsync(string scenario, string contender, Func<Task> run)
    {
        try
        {
            await run();
        }
        catch (Exception ex)
        {
            // Not supported: a feature this build lacks (a switch says so), no stack trace needed.
            Console.Error.WriteLine($"  {scenario}, {contender} failed: {(ex is NotSupportedException ? ex.Message : ex)}");
            Skips.Add(new Skipped(scenario, contender, ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" ")));
        }
    }

    private static IEnumerable<string> WithoutValues(string[] args, params string[] names)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (names.Contains(args[i]))
            {
                i++;
                continue;
            }

            yield return args[i];
        }
    }

    private static string? Value(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>tests/EventSourcing.SystemOfRecord.Benchmarks/Results under the repository root (the folder that holds the .sln), else Results under the current folder.</summary>
    private static string DefaultOutput()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "EventSourcing.SystemOfRecord.sln")))
                {
                    return Path.Combine(dir.FullName, "tests", "EventSourcing.SystemOfRecord.Benchmarks", "Results");
                }
            }
        }

        return Path.Combine(Directory.GetCurrentDirectory(), "Results");
    }
}
