using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>Durable append on SQLite (WAL, synchronous=FULL) from 64 concurrent appenders.</summary>
internal static class SqliteAppend
{
    public const string Name = "Durable append, SQLite";

    /// <summary>SystemOfRecord.AppendAsync on SqliteEventStore (group commit), publishing to a no-op publisher.</summary>
    public static async Task<Result> OursAsync(Settings settings, int appenders)
    {
        using var scratch = new Scratch("append");
        var store = new SqliteEventStore(new SqliteStoreOptions { ConnectionString = "Data Source=" + scratch.File("events.db"), Synchronous = SqliteSynchronousMode.Full });
        await using var system = new SystemOfRecord(store, new CountingPublisher(), Options.Create(new SystemOfRecordOptions { BucketIncrement = Workload.Increment, PublishMode = PublishMode.Committed }));
        var messages = Enumerable.Range(0, settings.AppendEvents).Select(Workload.Message).ToArray();

        await Concurrently.RunAsync(appenders, settings.WarmupEvents, async i => await system.AppendAsync(messages[i], Workload.Key(i)), null);

        var latencies = new LatencyRecorder(settings.AppendEvents);
        using var metrics = new LibraryMetrics();
        using var meter = RunMeter.Start();
        metrics.Start();
        await Concurrently.RunAsync(appenders, settings.AppendEvents, async i => await system.AppendAsync(messages[i], Workload.Key(i)), latencies);
        metrics.Stop();
        var result = meter.Stop(Name, Contender(appenders), Role.Ours, settings.AppendEvents, latencies,
            $"{appenders} appenders each call AppendAsync and await it before the next; PublishMode.Committed, so each returns after its group commit (at most {Math.Min(appenders, SqliteStoreOptions.DefaultMaxBatchSize)} rows per transaction); timed until the last returns; the publisher only counts; {metrics.CommitSummary}");
        await store.DisposeAsync();
        if (appenders != settings.Appenders)
        {
            return result;
        }

        var bytesPerEvent = FileBytesPerEvent(scratch.File("events.db"), settings.WarmupEvents + settings.AppendEvents);
        Console.WriteLine($"  {Name}: {bytesPerEvent:F0} bytes per event in the file ({Workload.Message(0).Length}-byte messages)");
        return result with { Note = result.Note + $"; {bytesPerEvent:F0} bytes per event in the file for messages of about {Workload.Message(0).Length} bytes" };
    }

    public static string Contender(int appenders) => $"SystemOfRecord + SqliteEventStore, {appenders} appenders";

    /// <summary>The file's pages in use (free pages aside) times the page size, per event stored.</summary>
    private static double FileBytesPerEvent(string file, int events)
    {
        using var connection = RawSqlite.Open(file);
        long Pragma(string name)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA " + name;
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        return (double)(Pragma("page_count") - Pragma("freelist_count")) * Pragma("page_size") / events;
    }

    /// <summary>The same rows, built beforehand, inserted by a writer thread in transactions of the store's largest batch.</summary>
    public static async Task<Result> RawAsync(Settings settings)
    {
        using var scratch = new Scratch("append-raw");
        using var connection = RawSqlite.Open(scratch.File("events.db"));
        RawSqlite.Execute(connection, RawSqlite.Schema);
        var events = RawSqlite.Events(settings.AppendEvents + settings.WarmupEvents, Workload.Topic);
        await RawSqlite.InsertOnWriterThreadAsync(connection, events.GetRange(0, settings.WarmupEvents));
        var measured = events.GetRange(settings.WarmupEvents, settings.AppendEvents);

        var latencies = new LatencyRecorder(settings.AppendEvents);
        using var meter = RunMeter.Start();
        await RawSqlite.InsertOnWriterThreadAsync(connection, measured, latencies: latencies);
        return meter.Stop(Name, "raw Microsoft.Data.Sqlite, writer thread", Role.Raw, settings.AppendEvents, latencies,
            $"the rows are built before the clock; one thread inserts them with a prepared INSERT into the store's table and index, {RawSqlite.BatchSize} rows per transaction (the store's MaxBatchSize), synchronous=FULL; timed until the last commit; latency = the row's batch commit");
    }
}
