using System.Globalization;
using EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

namespace EventSourcing.SystemOfRecord.Benchmarks.Harness;

/// <summary>The goals of issue 9 (and those kept from issue 6), each computed from rows of one run.</summary>
internal static class Goals
{
    public static IReadOnlyList<Goal> Evaluate(Settings settings, IReadOnlyList<Result> results)
    {
        var goals = new List<Goal>();
        var inv = CultureInfo.InvariantCulture;

        Result? Row(string scenario, string contender) => results.FirstOrDefault(r => r.Scenario == scenario && r.Contender == contender);
        Result? Ours(string scenario) => results.FirstOrDefault(r => r.Scenario == scenario && r.Role == Role.Ours);
        Result? Raw(string scenario) => results.FirstOrDefault(r => r.Scenario == scenario && r.Role == Role.Raw);

        // ours / baseline >= target, both rows of this run.
        void Share(string what, Result? ours, Result? baseline, double target, string of)
        {
            var wanted = $"≥ {target:P0} of {of}";
            goals.Add(ours is null || baseline is null
                ? new Goal(what, wanted, "not measured", null)
                : new Goal(what, wanted, Percent(ours.EventsPerSecond / baseline.EventsPerSecond), ours.EventsPerSecond / baseline.EventsPerSecond >= target));
        }

        void Faster(string what, Result? ours, Result peer) =>
            goals.Add(new Goal($"{what}: faster than {peer.Contender}", "> 1×",
                ours is null ? "not measured" : (ours.EventsPerSecond / peer.EventsPerSecond).ToString("F2", inv) + "×",
                ours is null ? null : ours.EventsPerSecond > peer.EventsPerSecond));

        var n = settings.Appenders;
        var append = Row(SqliteAppend.Name, SqliteAppend.Contender(n));
        Share($"durable append on SQLite, {n} appenders", append, Raw(SqliteAppend.Name), 0.70, "raw SQLite");
        foreach (var peer in results.Where(r => r.Scenario == SqliteAppend.Name && r.Role == Role.Peer))
        {
            Faster("durable append", append, peer);
        }

        var rawProducer = Raw(KafkaAppend.InMemoryName);
        var inMemoryCommitted = Row(KafkaAppend.InMemoryName, new AppendSetup(KafkaAppend.InMemoryName, false, PublishMode.Committed, n).Contender);
        var sqliteCommitted = Row(KafkaAppend.Name, new AppendSetup(KafkaAppend.Name, true, PublishMode.Committed, n).Contender);
        var sqliteAcknowledged = Row(KafkaAppend.Name, new AppendSetup(KafkaAppend.Name, true, PublishMode.Acknowledged, n).Contender);
        Share($"Committed, in-memory store + Kafka, {n} appenders", inMemoryCommitted, rawProducer, 0.90, "the raw producer");
        Share($"Committed, SQLite + Kafka, {n} appenders", sqliteCommitted, Raw(KafkaAppend.Name), 0.80, "raw SQLite + producer");
        Share($"Acknowledged, SQLite + Kafka, {n} appenders", sqliteAcknowledged, rawProducer, 0.25, "the raw producer");
        foreach (var peer in results.Where(r => r.Scenario == KafkaAppend.Name && r.Role == Role.Peer))
        {
            Faster("Committed, SQLite + Kafka", sqliteCommitted, peer);
        }

        var exactlyOnceInMemory = Row(ExactlyOnce.Name, ExactlyOnce.Setup(settings, sqlite: false).Contender);
        var exactlyOnceSqlite = Row(ExactlyOnce.Name, ExactlyOnce.Setup(settings, sqlite: true).Contender);
        Share("exactly-once Committed, in-memory store", exactlyOnceInMemory, inMemoryCommitted, 0.70, "at-least-once Committed");
        Share("exactly-once Committed, SQLite", exactlyOnceSqlite, sqliteCommitted, 0.70, "at-least-once Committed");
        Share("exactly-once Committed, in-memory store", exactlyOnceInMemory, Raw(ExactlyOnce.Name), 0.80, "the raw transactional producer");

        var lag = Ours(KafkaAppend.LagName);
        goals.Add(lag?.P99Microseconds is not { } p99
            ? new Goal("publish lag (commit to ack) p99 at half the Committed SQLite + Kafka throughput", "< 50 ms", "not measured", null)
            : new Goal($"publish lag (commit to ack) p99 at {lag.EventsPerSecond:N0} events/s (half the Committed SQLite + Kafka throughput)", "< 50 ms", (p99 / 1000).ToString("F1", inv) + " ms", p99 < 50_000));

        Share($"replay {settings.ReplayEvents:N0} events from SQLite to memory", Ours(Replay.ToMemory), Raw(Replay.ToMemory), 0.80, "raw");
        Share($"replay {settings.KafkaReplayEvents:N0} events from SQLite to Kafka", Ours(Replay.ToKafka), Raw(Replay.ToKafka), 0.90, "raw");

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

    /// <summary>Rounded down to a tenth of a percent, so a ratio just under its target never reads as on it.</summary>
    private static string Percent(double ratio) => (Math.Floor(ratio * 1000) / 10).ToString("F1", CultureInfo.InvariantCulture) + " %";
}
