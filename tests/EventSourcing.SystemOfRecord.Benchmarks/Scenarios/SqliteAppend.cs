using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>Durable append on SQLite (WAL, synchronous=FULL) from 64 concurrent appenders.</summary>
internal static class SqliteAppend
{
    public const string Name = "Durable append, SQLite";

    /// <summary>SystemOfRecord.AppendAsync on SqliteEventStore (group commit), publishing to a no-op publisher.</summary>
    public static async Task<Result> OursAsync(Settings settings)
    {
        using var scratch = new Scratch("append");
        var store = new SqliteEventStore(new SqliteStoreOptions { ConnectionString = "Data Source=" + scratch.File("events.db"), Synchronous = SqliteSynchronousMode.Full });
        await using var system = new SystemOfRecord(store, new CountingPublisher(), Options.Create(new SystemOfRecordOptions { BucketIncrement = Workload.Increment }));
        var messages = Enumerable.Range(0, settings.AppendEvents).Select(Workload.Message).ToArray();

        await Concurrently.RunAsync(settings.Appenders, settings.WarmupEvents, async i => await system.AppendAsync(messages[i], Workload.Key(i)), null);

        var latencies = new LatencyRecorder(settings.AppendEvents);
        using var meter = RunMeter.Start();
        await Concurrently.RunAsync(settings.Appenders, settings.AppendEvents, async i => await system.AppendAsync(messages[i], Workload.Key(i)), latencies);
        var result = meter.Stop(Name, "SystemOfRecord + SqliteEventStore", Role.Ours, settings.AppendEvents, latencies,
            $"{settings.Appenders} appenders; group commit, {store.GetType().Name} default MaxBatchSize");
        await store.DisposeAsync();
        var bytesPerEvent = FileBytesPerEvent(scratch.File("events.db"), settings.WarmupEvents + settings.AppendEvents);
        Console.WriteLine($"  {Name}: {bytesPerEvent:F0} bytes per event in the file ({Workload.Message(0).Length}-byte messages)");
        return result with { Note = result.Note + $"; {bytesPerEvent:F0} bytes per event in the file for messages of about {Workload.Message(0).Length} bytes" };
    }

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

    /// <summary>The same rows inserted by one connection in one transaction per batch of 64 (one row per appender).</summary>
    public static Task<Result> RawAsync(Settings settings)
    {
        using var scratch = new Scratch("append-raw");
        using var connection = RawSqlite.Open(scratch.File("events.db"));
        RawSqlite.Execute(connection, RawSqlite.Schema);
        var now = DateTime.UtcNow;
        var events = Enumerable.Range(0, settings.AppendEvents + settings.WarmupEvents)
            .Select(i => new RecordedEvent(now.AddTicks(-(now.Ticks % Workload.Increment.Ticks)), TimeUuid.Create(), Workload.Topic, Workload.Key(i), Workload.Message(i)))
            .ToList();
        RawSqlite.InsertBatches(connection, events.GetRange(0, settings.WarmupEvents), settings.Appenders, null);
        var measured = events.GetRange(settings.WarmupEvents, settings.AppendEvents);

        var latencies = new LatencyRecorder(settings.AppendEvents);
        using var meter = RunMeter.Start();
        RawSqlite.InsertBatches(connection, measured, settings.Appenders, latencies);
        return Task.FromResult(meter.Stop(Name, "raw Microsoft.Data.Sqlite", Role.Raw, settings.AppendEvents, latencies,
            $"one connection, prepared INSERT, one transaction per {settings.Appenders} rows; latency = the row's batch commit"));
    }
}
