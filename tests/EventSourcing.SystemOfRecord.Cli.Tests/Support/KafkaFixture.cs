using System.Net;
using System.Net.Sockets;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Support;

/// <summary>
/// A librdkafka mock cluster for the fixture (each test takes topics of its own) and a fresh SQLite store per test.
/// </summary>
public abstract class KafkaFixture
{
    private protected KafkaMockCluster Cluster { get; private set; } = null!;

    private protected TestStore Store { get; private set; } = null!;

    [OneTimeSetUp]
    public void StartCluster() => Cluster = new KafkaMockCluster(brokers: 1);

    [OneTimeTearDown]
    public void StopCluster() => Cluster.Dispose();

    [SetUp]
    public async Task CreateStore() => Store = await TestStore.CreateAsync();

    [TearDown]
    public async Task DisposeStore() => await Store.DisposeAsync();

    /// <summary>A new topic of its own for one test.</summary>
    private protected string NewTopic(int partitions = 1)
    {
        var topic = "t-" + Guid.NewGuid().ToString("N")[..10];
        Cluster.CreateTopic(topic, partitions, replicationFactor: 1);
        return topic;
    }

    /// <summary>Publishes the events as the application did, one after another.</summary>
    private protected async Task PublishAsync(IEnumerable<RecordedEvent> events)
    {
        await using var publisher = new KafkaEventPublisher(Options.Create(new KafkaPublisherOptions { BootstrapServers = Cluster.BootstrapServers }));
        foreach (var recorded in events)
        {
            await publisher.PublishAsync(recorded, CancellationToken.None);
        }
    }

    /// <summary>The ce_id of every record the topic holds, in partition and offset order.</summary>
    private protected List<string> IdsOnTopic(string topic, int partitions = 1) =>
        [.. TopicReader.ReadAll(Cluster.BootstrapServers, topic, partitions).Select(r => r.Header("ce_id")!)];

    /// <summary>A loopback port nothing listens on.</summary>
    private protected static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
