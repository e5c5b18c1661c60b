using System.Globalization;
using EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

namespace EventSourcing.SystemOfRecord.Benchmarks.Harness;

/// <summary>The goals of issue 6, checked against one run's results.</summary>
internal static class Goals
{
    public static IReadOnlyList<Goal> Evaluate(Settings settings, IReadOnlyList<Result> results)
    {
        var goals = new List<Goal>();
        var inv = CultureInfo.InvariantCulture;

        Result? Ours(string scenario) => results.FirstOrDefault(r => r.Scenario == scenario && r.Role == Role.Ours);
        Result? Raw(string scenario) => results.FirstOrDefault(r => r.Scenario == scenario && r.Role == Role.Raw);

        void Ratio(string what, string scenario, double target)
        {
            var (ours, raw) = (Ours(scenario), Raw(scenario));
            goals.Add(ours is null || raw is null
                ? new Goal(what, $"≥ {target:P0} of raw", "not measured", null)
                : new Goal(what, $"≥ {target:P0} of raw", (ours.EventsPerSecond / raw.EventsPerSecond).ToString("P0", inv), ours.EventsPerSecond / raw.EventsPerSecond >= target));
        }

        Ratio($"durable append on SQLite, {settings.Appenders} appenders", SqliteAppend.Name, 0.70);
        var append = Ours(SqliteAppend.Name);
        foreach (var peer in results.Where(r => r.Scenario == SqliteAppend.Name && r.Role == Role.Peer))
        {
            goals.Add(new Goal($"durable append: faster than {peer.Contender}", "> 1×",
                append is null ? "not measured" : (append.EventsPerSecond / peer.EventsPerSecond).ToString("F2", inv) + "×",
                append is null ? null : append.EventsPerSecond > peer.EventsPerSecond));
        }

        Ratio($"append + publish to Kafka, {settings.Appenders} appenders", KafkaAppend.Name, 0.90);
        var kafka = Ours(KafkaAppend.Name);
        foreach (var peer in results.Where(r => r.Scenario == KafkaAppend.Name && r.Role == Role.Peer))
        {
            goals.Add(new Goal($"append + publish: faster than {peer.Contender}", "> 1×",
                kafka is null ? "not measured" : (kafka.EventsPerSecond / peer.EventsPerSecond).ToString("F2", inv) + "×",
                kafka is null ? null : kafka.EventsPerSecond > peer.EventsPerSecond));
        }

        Ratio($"replay {settings.ReplayEvents:N0} events from SQLite to memory", Replay.ToMemory, 0.80);
        Ratio($"replay {settings.KafkaReplayEvents:N0} events from SQLite to Kafka", Replay.ToKafka, 0.90);

        var replay = Ours(Replay.ToMemory);
        goals.Add(replay is null
            ? new Goal($"peak managed memory replaying {settings.ReplayEvents:N0} events", "< 64 MB", "not measured", null)
            : new Goal($"peak managed memory replaying {settings.ReplayEvents:N0} events", "< 64 MB",
                string.Create(inv, $"{replay.PeakManagedBytes / 1048576.0:F1} MB whole heap ({replay.PeakAboveBaselineBytes / 1048576.0:F1} MB above the heap before the replay)"),
                replay.PeakManagedBytes < 64L * 1024 * 1024));

        var idempotent = Ours(Idempotency.Name);
        var bare = Raw(Idempotency.Name);
        if (idempotent is not null && bare is not null)
        {
            var added = (idempotent.Elapsed.TotalMicroseconds - bare.Elapsed.TotalMicroseconds) / idempotent.Events;
            goals.Add(new Goal("idempotent consumer, added per event", "< 2 µs", added.ToString("F2", inv) + " µs", added < 2));
        }
        else
        {
            goals.Add(new Goal("idempotent consumer, added per event", "< 2 µs", "not measured", null));
        }

        return goals;
    }
}
