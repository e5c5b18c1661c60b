using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Guarantees;

/// <summary>What every guarantee test starts from: a fresh 3-broker mock cluster and a temporary folder for the SQLite store.</summary>
public abstract class GuaranteeFixture
{
    protected const int Partitions = 3;

    private protected KafkaMockCluster Cluster { get; private set; } = null!;

    private protected TempFolder Folder { get; private set; } = null!;

    [SetUp]
    public void StartClusterAndFolder()
    {
        Cluster = new KafkaMockCluster(brokers: 3);
        Folder = new TempFolder();
    }

    [TearDown]
    public void StopClusterAndFolder()
    {
        Cluster.Dispose();
        Folder.Dispose();
    }
}
