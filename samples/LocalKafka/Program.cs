// LocalKafka: a Kafka to try the library and the sor tool on, with nothing to install: librdkafka's mock cluster
// (3 brokers on loopback, started in this process) speaks the Kafka protocol to any client until Ctrl+C. It keeps
// everything in memory: stopping it forgets every record. Not a broker for anything but trying things out.
//
//   dotnet run --project samples/LocalKafka                                   (topic "events", 3 partitions)
//   dotnet run --project samples/LocalKafka -- --topic orders --topic payments
using System.Runtime.InteropServices;
using EventSourcing.SystemOfRecord.Kafka.Testing;

const int Partitions = 3;
var topics = args.Select((arg, i) => (arg, i)).Where(a => a.arg == "--topic" && a.i + 1 < args.Length).Select(a => args[a.i + 1]).ToList();
if (topics.Count == 0)
{
    topics.Add("events"); // SystemOfRecordOptions.DefaultTopic
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

using var cluster = new KafkaMockCluster(brokers: 3);
foreach (var topic in topics)
{
    cluster.CreateTopic(topic, Partitions);
}

Console.WriteLine($"Kafka (librdkafka's mock cluster, 3 brokers) at {cluster.BootstrapServers}");
Console.WriteLine($"Topics: {string.Join(", ", topics)} ({Partitions} partitions each, replication factor 3).");
Console.WriteLine("In another terminal:");
Console.WriteLine($"  export KAFKA={cluster.BootstrapServers}");
Console.WriteLine("Ctrl+C (or SIGTERM) stops it and forgets every record.");
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

return 0;
