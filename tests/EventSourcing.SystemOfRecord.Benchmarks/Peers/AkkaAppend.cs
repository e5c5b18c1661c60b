using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Benchmarks.Scenarios;
using Settings = EventSourcing.SystemOfRecord.Benchmarks.Harness.Settings;

namespace EventSourcing.SystemOfRecord.Benchmarks.Peers;

/// <summary>
/// Akka.NET persistence: 64 persistent actors (one per appender) each persisting its events through the
/// Akka.Persistence.Sql journal (linq2db, provider SQLite.MS) on a SQLite file; an append is acknowledged from the Persist callback.
/// </summary>
internal static class AkkaAppend
{
    public const string Contender = "Akka.Persistence.Sql journal on SQLite";

    public static async Task<Result> RunAsync(Settings settings)
    {
        using var scratch = new Scratch("akka");
        var file = scratch.File("akka.db");
        Notes.PrepareWalFile(file);
        var connectionString = "Data Source=" + file;
        var config = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
                  connection-string = "{{connectionString}}"
                  provider-name = "SQLite.MS"
                  auto-initialize = true
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = "{{connectionString}}"
                  provider-name = "SQLite.MS"
                  auto-initialize = true
                }
              }
            }
            """);
        var system = ActorSystem.Create("bench", config);
        try
        {
            var actors = Enumerable.Range(0, settings.Appenders)
                .Select(i => system.ActorOf(Props.Create(() => new Appender("appender-" + i)), "appender-" + i))
                .ToArray();
            var messages = Enumerable.Range(0, settings.AppendEvents).Select(Workload.Message).ToArray();
            var timeout = TimeSpan.FromSeconds(60);

            await Concurrently.RunAsync(settings.Appenders, settings.WarmupEvents, async i => await actors[i % settings.Appenders].Ask<Persisted>(messages[i], timeout), null);

            var latencies = new LatencyRecorder(settings.AppendEvents);
            using var meter = RunMeter.Start();
            await Concurrently.RunAsync(settings.Appenders, settings.AppendEvents, async i => await actors[i % settings.Appenders].Ask<Persisted>(messages[i], timeout), latencies);
            return meter.Stop(SqliteAppend.Name, Contender, Role.Peer, settings.AppendEvents, latencies,
                $"{settings.Appenders} persistent actors, one per appender; Ask returns from the Persist callback; journal defaults (batch-size 100, parallelism 3)");
        }
        finally
        {
            await system.Terminate();
        }
    }

    private sealed class Persisted
    {
        public static readonly Persisted Instance = new();
    }

    private sealed class Appender : ReceivePersistentActor
    {
        public Appender(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<string>(message => Persist(message, _ => Sender.Tell(Persisted.Instance)));
            Recover<string>(_ => { });
        }

        public override string PersistenceId { get; }
    }
}
