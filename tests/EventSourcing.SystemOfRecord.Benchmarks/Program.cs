using System.Globalization;
using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Benchmarks.Peers;
using EventSourcing.SystemOfRecord.Benchmarks.Scenarios;
using EventSourcing.SystemOfRecord.Kafka.Testing;

namespace EventSourcing.SystemOfRecord.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project tests/EventSourcing.SystemOfRecord.Benchmarks -- [--quick|--full|--micro] [--only NAME,...] [--no-peers] [--out DIR]</c>
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
            await TryAsync(SqliteAppend.Name, "SystemOfRecord + SqliteEventStore", async () => Add(await MedianAsync(settings, () => SqliteAppend.OursAsync(settings))));
            if (settings.Peers)
            {
                await TryAsync(SqliteAppend.Name, AkkaAppend.Contender, async () => Add(await AkkaAppend.RunAsync(settings)));
                await TryAsync(SqliteAppend.Name, WolverinePeer.LocalContender, async () => Add(await WolverinePeer.DurableLocalAsync(settings)));
            }
        }

        if (settings.Runs("kafka"))
        {
            using var cluster = new KafkaMockCluster(brokers: 3);
            await TryAsync(KafkaAppend.Name, "raw Confluent.Kafka producer", async () => Add(await MedianAsync(settings, () => KafkaAppend.RawAsync(settings, cluster))));
            await TryAsync(KafkaAppend.Name, "SystemOfRecord + Kafka", async () => Add(await MedianAsync(settings, () => KafkaAppend.OursAsync(settings, cluster, settings.Appenders))));
            await TryAsync(KafkaAppend.Name, "SystemOfRecord + Kafka, linger.ms=0", async () => Add(await KafkaAppend.OursAsync(settings, cluster, settings.Appenders, lingerMs: 0)));
            await TryAsync(KafkaAppend.Name, "SystemOfRecord + Kafka, 1024 appenders", async () => Add(await KafkaAppend.OursAsync(settings, cluster, 1024)));
            if (settings.Peers)
            {
                await TryAsync(KafkaAppend.Name, WolverinePeer.KafkaContender, async () => Add(await WolverinePeer.KafkaOutboxAsync(settings, cluster)));
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
            await TryAsync(Replay.ToKafka, "raw scan + producer", async () => Add(await replay.RawToKafkaAsync(cluster, settings.KafkaReplayEvents)));
            await TryAsync(Replay.ToKafka, "SystemOfRecord + KafkaEventPublisher", async () => Add(await replay.OursToKafkaAsync(cluster, settings.KafkaReplayEvents)));
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
        Report.Write(output, settings, info, ordered, Skips, Goals.Evaluate(settings, ordered), Peers.Notes.All);
        Console.WriteLine($"Wrote {Path.Combine(output, "README.md")} ({(DateTime.UtcNow - started).TotalMinutes:F1} min).");
        return 0;
    }

    private static int ScenarioOrder(string scenario) => scenario switch
    {
        SqliteAppend.Name => 0,
        KafkaAppend.Name => 1,
        Replay.ToMemory => 2,
        Replay.ToKafka => 3,
        CassandraClient.Append => 4,
        CassandraClient.Read => 5,
        _ => 6,
    };

    private static void Add(Result result)
    {
        Results.Add(result);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {result.Scenario,-26} {result.Contender,-70} {result.EventsPerSecond,12:N0} ev/s  p50 {result.P50Microseconds,8:F0} µs  p99 {result.P99Microseconds,9:F0} µs  peak {result.PeakManagedBytes / 1048576.0,7:F1} MB  {result.AllocatedBytesPerEvent,7:F0} B/ev"));
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
            Console.Error.WriteLine($"  {scenario}, {contender} failed: {ex}");
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
