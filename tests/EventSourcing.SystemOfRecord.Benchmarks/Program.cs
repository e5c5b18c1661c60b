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
            Micro.MicroBenchmarks.Run(args.Where(a => a != "--micro").ToArray());
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
            await TryAsync(SqliteAppend.Name, "raw Microsoft.Data.Sqlite", async () => Add(await SqliteAppend.RawAsync(settings)));
            await TryAsync(SqliteAppend.Name, "SystemOfRecord + SqliteEventStore", async () => Add(await SqliteAppend.OursAsync(settings)));
            if (settings.Peers)
            {
                await TryAsync(SqliteAppend.Name, AkkaAppend.Contender, async () => Add(await AkkaAppend.RunAsync(settings)));
                await TryAsync(SqliteAppend.Name, WolverinePeer.LocalContender, async () => Add(await WolverinePeer.DurableLocalAsync(settings)));
            }
        }

        if (settings.Runs("kafka"))
        {
            using var cluster = new KafkaMockCluster(brokers: 3);
            await TryAsync(KafkaAppend.Name, "raw Confluent.Kafka producer", async () => Add(await KafkaAppend.RawAsync(settings, cluster)));
            await TryAsync(KafkaAppend.Name, "SystemOfRecord + Kafka", async () => Add(await KafkaAppend.OursAsync(settings, cluster, settings.Appenders)));
            if (settings.Peers)
            {
                await TryAsync(KafkaAppend.Name, WolverinePeer.KafkaContender, async () => Add(await WolverinePeer.KafkaOutboxAsync(settings, cluster)));
            }
        }

        if (settings.Runs("replay"))
        {
            Console.WriteLine($"Seeding {settings.ReplayEvents:N0} events over a day of 15 s buckets...");
            using var replay = await Replay.SeedAsync(settings.ReplayEvents);
            await TryAsync(Replay.ToMemory, "raw scan", async () => Add(await replay.RawScanAsync()));
            await TryAsync(Replay.ToMemory, "SystemOfRecord.RepublishDateRangeAsync", async () => Add(await replay.OursToMemoryAsync()));
            await TryAsync(Replay.ToMemory, "bucket by bucket", async () => Add(await replay.OursBucketByBucketAsync()));
            using var cluster = new KafkaMockCluster(brokers: 3);
            await TryAsync(Replay.ToKafka, "raw scan + producer", async () => Add(await replay.RawToKafkaAsync(cluster, settings.KafkaReplayEvents)));
            await TryAsync(Replay.ToKafka, "SystemOfRecord + KafkaEventPublisher", async () => Add(await replay.OursToKafkaAsync(cluster, settings.KafkaReplayEvents)));
        }

        var ordered = Results.OrderBy(r => ScenarioOrder(r.Scenario)).ThenBy(r => r.Role switch { Role.Ours => 0, Role.Raw => 1, _ => 2 }).ToList();
        var info = new RunInfo(
            "dotnet run -c Release --project tests/EventSourcing.SystemOfRecord.Benchmarks -- " + string.Join(' ', args.Where(a => !a.StartsWith("--out", StringComparison.Ordinal))),
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
        _ => 4,
    };

    private static void Add(Result result)
    {
        Results.Add(result);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {result.Scenario,-26} {result.Contender,-70} {result.EventsPerSecond,12:N0} ev/s  p50 {result.P50Microseconds,8:F0} µs  p99 {result.P99Microseconds,9:F0} µs  peak {result.PeakManagedBytes / 1048576.0,7:F1} MB  {result.AllocatedBytesPerEvent,7:F0} B/ev"));
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

    private static string? Value(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>docs/benchmarks under the repository root (the folder that holds the .sln), else under the current folder.</summary>
    private static string DefaultOutput()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "EventSourcing.SystemOfRecord.sln")))
                {
                    return Path.Combine(dir.FullName, "docs", "benchmarks");
                }
            }
        }

        return Path.Combine(Directory.GetCurrentDirectory(), "docs", "benchmarks");
    }
}
