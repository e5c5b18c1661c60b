using Confluent.Kafka;
using EventSourcing.SystemOfRecord.Benchmarks.Harness;
using EventSourcing.SystemOfRecord.Benchmarks.Scenarios;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using JasperFx;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;
using Wolverine.Kafka;
using Wolverine.Sqlite;

namespace EventSourcing.SystemOfRecord.Benchmarks.Peers;

/// <summary>A message Wolverine records durably: the same payload and key as our events.</summary>
public sealed record BenchEvent(int Number, string Key, string Message);

/// <summary>A message Wolverine sends to Kafka through its durable outbox.</summary>
public sealed record BenchKafkaEvent(int Number, string Key, string Message);

/// <summary>The local handler of the durable local queue: applies nothing.</summary>
public static class BenchEventHandler
{
    private static long s_handled;

    public static long Handled => Interlocked.Read(ref s_handled);

    public static void Handle(BenchEvent message) => Interlocked.Increment(ref s_handled);
}

/// <summary>WolverineFx 6 with SQLite message storage (durable inbox/outbox) and the Kafka transport.</summary>
internal static class WolverinePeer
{
    public const string LocalContender = "Wolverine durable local queue on SQLite";
    public const string KafkaContender = "Wolverine durable outbox on SQLite + Kafka";

    public static async Task<Result> DurableLocalAsync(Settings settings)
    {
        using var scratch = new Scratch("wolverine");
        var file = scratch.File("wolverine.db");
        Notes.PrepareWalFile(file);
        using var host = await StartAsync(file, opts =>
        {
            opts.Policies.UseDurableLocalQueues();
            opts.Discovery.IncludeType(typeof(BenchEventHandler));
        });
        var bus = host.Services.GetRequiredService<IMessageBus>();
        var handledBefore = BenchEventHandler.Handled;
        await Concurrently.RunAsync(settings.Appenders, settings.WarmupEvents, async i => await bus.PublishAsync(new BenchEvent(i, Workload.Key(i), Workload.Message(i))), null);
        await WaitForHandledAsync(handledBefore + settings.WarmupEvents);

        var latencies = new LatencyRecorder(settings.AppendEvents);
        using var meter = RunMeter.Start();
        await Concurrently.RunAsync(settings.Appenders, settings.AppendEvents, async i => await bus.PublishAsync(new BenchEvent(i, Workload.Key(i), Workload.Message(i))), latencies);
        await WaitForHandledAsync(handledBefore + settings.WarmupEvents + settings.AppendEvents);
        var result = meter.Stop(SqliteAppend.Name, LocalContender, Role.Peer, settings.AppendEvents, latencies,
            "latency is PublishAsync to the durable local queue; the run ends when the handler has processed every message (so every envelope went through the SQLite inbox)");
        await host.StopAsync();
        return result;
    }

    public static async Task<Result> KafkaOutboxAsync(Settings settings, KafkaMockCluster cluster)
    {
        using var scratch = new Scratch("wolverine-kafka");
        var file = scratch.File("wolverine.db");
        Notes.PrepareWalFile(file);
        var topic = RawKafka.CreateTopic(cluster, "wolverine-append");
        using var host = await StartAsync(file, opts =>
        {
            opts.UseKafka(cluster.BootstrapServers)
                .ConfigureProducers(producer =>
                {
                    producer.Acks = Acks.All;
                    producer.EnableIdempotence = true;
                });
            opts.PublishMessage<BenchKafkaEvent>().ToKafkaTopic(topic).UseDurableOutbox();
        });
        var bus = host.Services.GetRequiredService<IMessageBus>();
        await Concurrently.RunAsync(settings.Appenders, settings.WarmupEvents, async i => await bus.PublishAsync(new BenchKafkaEvent(i, Workload.Key(i), Workload.Message(i))), null);
        await WaitForEmptyOutboxAsync(file);

        var latencies = new LatencyRecorder(settings.KafkaAppendEvents);
        using var meter = RunMeter.Start();
        await Concurrently.RunAsync(settings.Appenders, settings.KafkaAppendEvents, async i => await bus.PublishAsync(new BenchKafkaEvent(i, Workload.Key(i), Workload.Message(i))), latencies);
        await WaitForEmptyOutboxAsync(file);
        var result = meter.Stop(KafkaAppend.Name, KafkaContender, Role.Peer, settings.KafkaAppendEvents, latencies,
            $"{settings.Appenders} appenders; latency is PublishAsync (stored in the outbox), the run ends when the outbox is empty (sent and acknowledged)");
        await host.StopAsync();
        return result;
    }

    private static async Task<IHost> StartAsync(string file, Action<WolverineOptions> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseWolverine(opts =>
        {
            opts.PersistMessagesWithSqlite("Data Source=" + file);
            opts.Durability.Mode = DurabilityMode.Solo;
            opts.AutoBuildMessageStorageOnStartup = AutoCreate.CreateOrUpdate;
            opts.Discovery.DisableConventionalDiscovery();
            configure(opts);
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task WaitForHandledAsync(long count)
    {
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (BenchEventHandler.Handled < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Wolverine handled {BenchEventHandler.Handled} of {count} messages in 10 minutes.");
            }

            await Task.Delay(2);
        }
    }

    /// <summary>Waits until Wolverine's outgoing envelope table is empty: every outboxed record was sent and acknowledged.</summary>
    private static async Task WaitForEmptyOutboxAsync(string file)
    {
        using var connection = new SqliteConnection("Data Source=" + file);
        connection.Open();
        var table = Scalar(connection, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%outgoing%' LIMIT 1;") as string
            ?? throw new InvalidOperationException("Wolverine created no outgoing envelope table.");
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (Convert.ToInt64(Scalar(connection, $"SELECT count(*) FROM {table};"), System.Globalization.CultureInfo.InvariantCulture) > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Wolverine's outbox did not drain within 10 minutes.");
            }

            await Task.Delay(2);
        }
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
#pragma warning disable CA2100 // a table name read from sqlite_master
        command.CommandText = sql;
#pragma warning restore CA2100
        return command.ExecuteScalar();
    }
}
