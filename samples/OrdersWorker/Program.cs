// OrdersWorker: a Generic Host worker. It records typed order events in a SQLite system of record, publishes them to
// Kafka, and consumes them with typed, idempotent handlers; health checks report on the store and the consumer, and
// OpenTelemetry prints every span and metric to the console, so one trace can be followed from the append, through
// the broker, to the handler. It stops by itself once every order was handled.
//
//   dotnet run --project samples/OrdersWorker                                   (in-process mock cluster, 3 orders)
//   dotnet run --project samples/OrdersWorker -- --orders 10
//   dotnet run --project samples/OrdersWorker -- --bootstrap-servers HOST:PORT  (a real Kafka)
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using EventSourcing.SystemOfRecord;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using OrdersWorker;

var orders = Option("--orders") is { } count ? int.Parse(count, System.Globalization.CultureInfo.InvariantCulture) : 3;
var realKafka = Option("--bootstrap-servers");
using var mock = realKafka is null ? new KafkaMockCluster(brokers: 3) : null;
var bootstrapServers = realKafka ?? mock!.BootstrapServers;
var topic = "orders-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
var data = Directory.CreateTempSubdirectory("orders-worker-");
Console.WriteLine(mock is null ? $"Kafka at {bootstrapServers}, topic {topic}." : $"Mock Kafka cluster (librdkafka, 3 brokers) at {bootstrapServers}, topic {topic}.");
Console.WriteLine($"SQLite files in {data.FullName}.");
await CreateTopicAsync();

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("OrdersWorker", LogLevel.Information);
builder.Services.AddSingleton(new Progress(orders));

// The producing side: typed events recorded in SQLite, then published to Kafka.
builder.Services
    .AddSystemOfRecord(o =>
    {
        o.DefaultTopic = topic;
        o.BucketIncrement = TimeSpan.FromSeconds(5);
    })
    .UseSqlite($"Data Source={Path.Combine(data.FullName, "events.db")}")
    .UseKafka(k =>
    {
        k.BootstrapServers = bootstrapServers;
        k.Source = "/orders-worker";
    });
builder.Services.AddHostedService<OrderDesk>();

// The consuming side: typed handlers, each event applied once (processed ids in SQLite), failures dead-lettered.
builder.Services.AddSqliteProcessedEventLog($"Data Source={Path.Combine(data.FullName, "fulfilment.db")}");
builder.Services
    .AddKafkaEventConsumer(o =>
    {
        o.BootstrapServers = bootstrapServers;
        o.Topic = topic;
        o.GroupId = "fulfilment";
        o.MaxRetryAttempts = 5;
        o.HandlerFailurePolicy = HandlerFailurePolicy.DeadLetter;
        o.DeadLetterTopic = topic + ".dead-letters";
        o.ConsumerSettings["topic.metadata.refresh.interval.ms"] = "1000";
    })
    .Handle<OrderPlaced>(Fulfilment.OnPlacedAsync)
    .Handle<OrderShipped>(Fulfilment.OnShippedAsync)
    .WithIdempotency(o => o.RetentionWindow = TimeSpan.FromDays(7));

builder.Services.AddHealthChecks()
    .AddCheck<EventStoreHealthCheck>("store", timeout: TimeSpan.FromSeconds(5))
    .AddCheck<KafkaEventConsumerHealthCheck>("kafka-consumer");

// OpenTelemetry: every span and metric of the system of record, printed to the console.
builder.Services.AddOpenTelemetry()
    .ConfigureResource(r => r.AddService("orders-worker"))
    .WithTracing(t => t.AddSource(OrderDesk.Source.Name).AddSystemOfRecordInstrumentation().AddConsoleExporter())
    .WithMetrics(m => m.AddSystemOfRecordInstrumentation().AddConsoleExporter());

using var host = builder.Build();
await host.StartAsync();
var progress = host.Services.GetRequiredService<Progress>();
var deadline = DateTime.UtcNow.AddSeconds(60);
while (!progress.Done && DateTime.UtcNow < deadline)
{
    await Task.Delay(100);
}

var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
await host.StopAsync();

Console.WriteLine();
Console.WriteLine(progress.Done ? $"Every order was handled ({orders} orders, {orders * 2} events):" : "Timed out before every order was handled:");
foreach (var line in progress.Summary())
{
    Console.WriteLine(line);
}

Console.WriteLine($"Health: {health.Status}");
foreach (var (name, entry) in health.Entries)
{
    Console.WriteLine($"  {name}: {entry.Status} ({entry.Description})");
}

data.Delete(recursive: true);
return progress.Done && health.Status == HealthStatus.Healthy ? 0 : 1;

string? Option(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

async Task CreateTopicAsync()
{
    string[] topics = [topic, topic + ".dead-letters"];
    if (mock is not null)
    {
        foreach (var name in topics)
        {
            mock.CreateTopic(name, partitions: 3);
        }

        return;
    }

    using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
    await admin.CreateTopicsAsync(topics.Select(name => new TopicSpecification { Name = name, NumPartitions = 3, ReplicationFactor = -1 }));
}
