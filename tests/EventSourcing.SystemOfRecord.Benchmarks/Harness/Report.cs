using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace EventSourcing.SystemOfRecord.Benchmarks.Harness;

/// <summary>One goal of the issues the benchmarks serve (9, and 6 before it): reported, never asserted.</summary>
internal sealed record Goal(string What, string Target, string Measured, bool? Met);

/// <summary>Writes the markdown report, the CSV and the chart of one run.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(string directory, Settings settings, RunInfo info, IReadOnlyList<Result> results, IReadOnlyList<Skipped> skipped, IReadOnlyList<Goal> goals, IReadOnlyList<string> peerNotes)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "results.csv"), Csv(results));
        string? chart = null;
        try
        {
            Chart.Render(Path.Combine(directory, "throughput-ratios.png"), results);
            chart = "throughput-ratios.png";
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or InvalidOperationException or IOException)
        {
            Console.Error.WriteLine("The chart could not be rendered: " + ex.Message);
        }

        File.WriteAllText(Path.Combine(directory, "README.md"), Markdown(settings, info, results, skipped, goals, peerNotes, chart));
    }

    public static double? RatioToRaw(Result r, IReadOnlyList<Result> all)
    {
        var raw = all.FirstOrDefault(x => x.Scenario == r.Scenario && x.Role == Role.Raw);
        return raw is null ? null : r.EventsPerSecond / raw.EventsPerSecond;
    }

    private static string Csv(IReadOnlyList<Result> results)
    {
        var csv = new StringBuilder("scenario,contender,role,events,seconds,events_per_second,p50_us,p99_us,peak_managed_mb,peak_above_baseline_mb,allocated_bytes_per_event,ratio_to_raw,note,cpu_us_per_event\n");
        foreach (var r in results)
        {
            csv.AppendLine(string.Join(',',
                Quote(r.Scenario), Quote(r.Contender), r.Role.ToString().ToLowerInvariant(), r.Events.ToString(Inv),
                r.Elapsed.TotalSeconds.ToString("F3", Inv), r.EventsPerSecond.ToString("F0", Inv),
                r.P50Microseconds?.ToString("F1", Inv) ?? "", r.P99Microseconds?.ToString("F1", Inv) ?? "",
                Mb(r.PeakManagedBytes), Mb(r.PeakAboveBaselineBytes), r.AllocatedBytesPerEvent.ToString("F0", Inv),
                RatioToRaw(r, results)?.ToString("F3", Inv) ?? "", Quote(r.Note), r.CpuMicrosecondsPerEvent?.ToString("F2", Inv) ?? ""));
        }

        return csv.ToString();
    }

    private static string Markdown(Settings settings, RunInfo info, IReadOnlyList<Result> results, IReadOnlyList<Skipped> skipped, IReadOnlyList<Goal> goals, IReadOnlyList<string> peerNotes, string? chart)
    {
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Run `{info.Command}` ({settings.Mode} mode) on {info.Started:yyyy-MM-dd HH:mm} UTC, {info.Duration.TotalMinutes:F1} min.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.ProcessArchitecture}; workstation GC. Load average (1 min) at start {info.LoadAtStart}, at end {info.LoadAtEnd}{(info.LoadNote.Length > 0 ? "; " + info.LoadNote : "")}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Libraries in this process: Microsoft.Data.Sqlite {Version(typeof(Microsoft.Data.Sqlite.SqliteConnection))} (SQLite {SqliteVersion()}; WolverineFx.Sqlite needs the 10.x line, so the store runs on it here too), Confluent.Kafka {Version(typeof(Confluent.Kafka.Library))} (librdkafka {Confluent.Kafka.Library.VersionString}).");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Sizes: {settings.Appenders} concurrent appenders; {settings.AppendEvents:N0} durable appends; {settings.KafkaAppendEvents:N0} appends + publishes per Kafka row (exactly-once and the publish lag row too); replay of {settings.ReplayEvents:N0} events over a day of 15 s buckets (to Kafka: {settings.KafkaReplayEvents:N0}); {settings.IdempotentEvents:N0} events through the idempotent consumer. Every contender warms up first; {(settings.Rounds > 1 ? $"raw limits and our main rows then run {settings.Rounds} times and the median run is shown (the notes list every run), the other rows once" : "then runs once")}.");
        if (settings.Mode == "quick")
        {
            md.AppendLine();
            md.AppendLine("**Quick mode**: the scenarios are scaled down (replay of 200,000 events instead of 1,000,000, and so on); run with `--full` for the real sizes.");
        }

        md.AppendLine();
        md.AppendLine("Throughput is events per second of wall time. Latency (p50/p99) is per operation, as the row's note says: for our append rows from the call to AppendAsync's return, for raw SQLite the row's batch commit, for the raw producer the delivery report, for the publish lag row the lag itself. Peak memory is the managed heap (`GC.GetTotalMemory`) sampled every millisecond during the run; in brackets, above the heap after a full GC before the run. Allocated is managed bytes allocated per event. CPU is the process's CPU time per event (all threads, the in-process Kafka mock brokers' included): other work on the machine disturbs it less than the wall time, but it also holds fixed background work (librdkafka's and the mock brokers' threads, the memory sampler) that weighs more per event in slow rows, so compare it between rows of similar throughput. \"vs raw\" is the throughput divided by the raw limit's in the same scenario; \"ours vs\" is our throughput divided by that row's.");
        md.AppendLine();
        if (chart is not null)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"![Throughput relative to the raw limit, per scenario]({chart})");
            md.AppendLine();
        }

        md.AppendLine("| scenario | contender | events/s | p50 | p99 | peak managed MB | alloc B/event | CPU µs/event | vs raw | ours vs |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var ours = results.FirstOrDefault(x => x.Scenario == r.Scenario && x.Role == Role.Ours);
            var oursVs = r.Role == Role.Ours || ours is null ? "" : (ours.EventsPerSecond / r.EventsPerSecond).ToString("F2", Inv) + "×";
            var name = r.Role switch { Role.Ours => "**" + r.Contender + "**", Role.Raw => r.Contender + " (raw limit)", _ => r.Contender + " (peer)" };
            var vsRaw = Percent(RatioToRaw(r, results));
            if (r.Scenario == Scenarios.Idempotency.Name)
            {
                // Judged by the time it adds per event, not by a share of a bare delegate call's rate.
                var bare = results.FirstOrDefault(x => x.Scenario == r.Scenario && x.Role == Role.Raw);
                vsRaw = r.Role == Role.Raw || bare is null ? "" : "+" + ((r.Elapsed.TotalMicroseconds - bare.Elapsed.TotalMicroseconds) / r.Events).ToString("F2", Inv) + " µs/event";
                oursVs = "";
            }

            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Scenario} | {name} | {r.EventsPerSecond:N0} | {Latency(r.P50Microseconds)} | {Latency(r.P99Microseconds)} | {Mb(r.PeakManagedBytes)} ({Mb(r.PeakAboveBaselineBytes)}) | {r.AllocatedBytesPerEvent:N0} | {Cpu(r.CpuMicrosecondsPerEvent)} | {vsRaw} | {oursVs} |");
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Reading the table: each raw limit is the best raw way we know to do the same work (rows built before the clock, one prepared statement, the largest batches the store would make, every record in flight), so \"vs raw\" should stay under 100 %; the notes below say for each row what is timed. A durable append waits for its commit (fsync), and the store gathers the appends that arrive during a commit into the next transaction (group commit): with {settings.Appenders} appenders a transaction holds at most {settings.Appenders} rows, while the raw writer commits {Scenarios.RawSqlite.BatchSize} (the store's MaxBatchSize) at a time; the 1024-appender row shows how close the store gets once its batches can fill. In `Committed` mode AppendAsync returns after the commit and the publish pipeline keeps up to {SystemOfRecordOptions.DefaultMaxPublishesInFlight:N0} records in flight; the clock stops when the last event is acknowledged, so those rows include the publishing. In `Acknowledged` mode each appender also waits for its broker acknowledgement (librdkafka lingers 5 ms before it sends a batch), so at most {settings.Appenders} records are in flight (Little's law); the 1024-appender row shows that bound. The Acknowledged goal compares with the raw producer (the raw row of the in-memory scenario), although the row sits with SQLite + Kafka, whose \"vs raw\" column compares it with raw SQLite + producer. The exactly-once rows publish in Kafka transactions that also carry the pipeline's cursor; their raw limit is one transactional producer committing {Scenarios.ExactlyOnce.TransactionSize:N0} records at a time. The publish lag row has no raw limit: it runs at half the Committed SQLite + Kafka throughput, and its p50/p99 are the lag from commit to acknowledgement. On this shared 2-core machine the disk and CPU are shared with other work (see the load average): runs of the same contender differ by up to 2×, so compare rows of one run. The rows bound by fsync (raw SQLite, and raw SQLite + producer most of all) move the most; a row of ours above 100 % of one of them is that noise, not a weak baseline (transactions of 512 rows measured faster than 64 or 128, and a producer thread of its own faster than producing on the writer thread).");
        md.AppendLine();
        md.AppendLine("## Goals (issue 9; the replay, memory, peer and idempotency goals kept from issue 6)");
        md.AppendLine();
        md.AppendLine("| goal | target | measured | met |");
        md.AppendLine("|---|---|---|---|");
        foreach (var g in goals)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {g.What} | {g.Target} | {g.Measured} | {(g.Met switch { true => "yes", false => "**no**", null => "n/a" })} |");
        }

        md.AppendLine();
        md.AppendLine("## How each contender is configured");
        md.AppendLine();
        foreach (var note in peerNotes)
        {
            md.AppendLine("- " + note);
        }

        md.AppendLine();
        md.AppendLine("## What each row times");
        md.AppendLine();
        foreach (var r in results.Where(r => r.Note.Length > 0))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {r.Scenario}, {r.Contender}: {r.Note}. {r.Events:N0} events in {r.Elapsed.TotalSeconds:F2} s.");
        }

        if (skipped.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("## Not measured");
            md.AppendLine();
            foreach (var s in skipped)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {s.Scenario}, {s.Contender}: {s.Reason}");
            }
        }

        md.AppendLine();
        md.AppendLine("The raw numbers are in [results.csv](results.csv). Micro-benchmarks of the per-event hot paths (TimeUuid create/parse/format, bucket math, RecordedEvent, the idempotent handler; BenchmarkDotNet with the memory diagnoser) run with `-- --micro [--quick]`; their reports are in [micro/results](micro/results).");
        return md.ToString();
    }

    private static string Version(Type type) =>
        type.Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0] ?? "?";

    private static string SqliteVersion()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
        connection.Open();
        return connection.ServerVersion;
    }

    private static string Latency(double? us) => us switch
    {
        null => "–",
        < 1_000 => us.Value.ToString("F0", Inv) + " µs",
        _ => (us.Value / 1000).ToString("F1", Inv) + " ms",
    };

    private static string Cpu(double? us) => us switch
    {
        null => "–",
        < 10 => us.Value.ToString("F2", Inv),
        _ => us.Value.ToString("F1", Inv),
    };

    private static string Percent(double? ratio) => ratio is null ? "" : (ratio.Value * 100).ToString("F0", Inv) + " %";

    private static string Mb(long bytes) => (bytes / 1024.0 / 1024.0).ToString("F1", Inv);

    private static string Quote(string text) => "\"" + text.Replace("\"", "\"\"") + "\"";
}

/// <summary>When and how the run was made.</summary>
internal sealed record RunInfo(string Command, DateTime Started, TimeSpan Duration, string LoadAtStart, string LoadAtEnd, string LoadNote)
{
    public static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
