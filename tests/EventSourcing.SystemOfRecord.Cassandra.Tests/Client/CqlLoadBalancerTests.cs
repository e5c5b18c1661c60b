using System.Net;
using EventSourcing.SystemOfRecord.Cassandra.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Client;

/// <summary>Query plans and replica placement over a ring built by hand (no network).</summary>
public sealed class CqlLoadBalancerTests
{
    private static readonly CqlClientSettings Settings = new() { ContactPoints = ["127.0.0.1"], ReconnectDelay = TimeSpan.FromMinutes(5) };

    /// <summary>Node n at 10.0.0.n, token n * 100, in the given data center and rack.</summary>
    private static CqlHost Node(int n, string dataCenter, string rack = "r1", CqlClientSettings? settings = null)
    {
        var host = new CqlHost($"10.0.0.{n}", 9042, settings ?? Settings, NullLogger.Instance);
        host.Describe(new CqlNodeInfo(Guid.NewGuid(), new IPEndPoint(IPAddress.Parse($"10.0.0.{n}"), 9042), dataCenter, rack, [n * 100L]));
        return host;
    }

    private static CqlTopology Topology(IReadOnlyList<CqlHost> hosts, params (string Keyspace, Dictionary<string, string> Replication)[] keyspaces)
    {
        var topology = new CqlTopology(hosts, Settings, NullLogger.Instance);
        topology.Apply(hosts[0], hosts[0].Node!, hosts.Skip(1).Select(h => h.Node!).ToList(), keyspaces.ToDictionary(k => k.Keyspace, k => CqlReplication.Parse(k.Replication)));
        return topology;
    }

    private static Dictionary<string, string> Nts(params (string DataCenter, int Factor)[] factors) =>
        factors.ToDictionary(f => f.DataCenter, f => f.Factor.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Append(new KeyValuePair<string, string>("class", "org.apache.cassandra.locator.NetworkTopologyStrategy"))
            .ToDictionary(p => p.Key, p => p.Value);

    private static List<string> Addresses(IEnumerable<CqlHost> hosts) => hosts.Select(h => h.Address).ToList();

    [Test]
    public void Replicas_SimpleStrategy_NextDistinctNodesAlongTheRing()
    {
        var hosts = new[] { Node(1, "dc1"), Node(2, "dc1"), Node(3, "dc1"), Node(4, "dc1") };
        var topology = Topology(hosts, ("ks", new Dictionary<string, string> { ["class"] = "SimpleStrategy", ["replication_factor"] = "2" }));

        Assert.Multiple(() =>
        {
            Assert.That(Addresses(topology.Ring.Replicas("ks", 150)), Is.EqualTo(new[] { "10.0.0.2", "10.0.0.3" }), "the range (100, 200] belongs to the node at 200");
            Assert.That(Addresses(topology.Ring.Replicas("ks", 401)), Is.EqualTo(new[] { "10.0.0.1", "10.0.0.2" }), "past the last token, the ring wraps");
        });
    }

    [Test]
    public void Replicas_NetworkTopologyStrategy_PerDataCenterAndEachRackBeforeASecondInOne()
    {
        // dc1 along the ring: 1 (r1), 2 (r1), 4 (r2); dc2: 3, 5.
        var hosts = new[] { Node(1, "dc1", "r1"), Node(2, "dc1", "r1"), Node(3, "dc2"), Node(4, "dc1", "r2"), Node(5, "dc2") };
        var topology = Topology(hosts, ("ks", Nts(("dc1", 2), ("dc2", 1))));

        Assert.That(Addresses(topology.Ring.Replicas("ks", 50)), Is.EqualTo(new[] { "10.0.0.1", "10.0.0.3", "10.0.0.4" }),
            "node 2 is passed over (rack r1 already holds a replica) for node 4 in rack r2");
    }

    [Test]
    public void Replicas_UnknownKeyspace_FirstNodeOfEachDataCenter()
    {
        var hosts = new[] { Node(1, "dc1"), Node(2, "dc2"), Node(3, "dc1") };

        Assert.That(Addresses(Topology(hosts).Ring.Replicas("nope", 250)), Is.EqualTo(new[] { "10.0.0.3", "10.0.0.2" }));
    }

    [Test]
    public void Plan_TokenKnown_LocalReplicasThenOtherLocalNodesNeverRemote()
    {
        var hosts = new[] { Node(1, "dc1"), Node(2, "dc2"), Node(3, "dc1"), Node(4, "dc2"), Node(5, "dc1") };
        var topology = Topology(hosts, ("ks", Nts(("dc1", 1), ("dc2", 1))));
        var balancer = new CqlLoadBalancer(Settings) { LocalDataCenter = "dc1" };

        var plans = Enumerable.Range(0, 10).Select(_ => balancer.Plan(topology, "ks", 150, CassandraConsistency.LocalQuorum, null).Hosts).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(plans.Select(p => p[0].Address), Has.All.EqualTo("10.0.0.3"), "the dc1 replica of (100, 200] is node 3 (node 2 is in dc2)");
            Assert.That(plans.Select(p => p.Count), Has.All.EqualTo(3));
            Assert.That(plans.SelectMany(p => p).Select(h => h.DataCenter), Has.All.EqualTo("dc1"));
            Assert.That(plans.Select(p => p[1].Address).Distinct().Count(), Is.EqualTo(2), "the other local nodes take turns");
        });
    }

    [TestCase(CassandraConsistency.LocalQuorum, null, false)]
    [TestCase(CassandraConsistency.LocalOne, null, false)]
    [TestCase(CassandraConsistency.Quorum, CassandraConsistency.LocalSerial, false)]
    [TestCase(CassandraConsistency.Quorum, null, true)]
    [TestCase(CassandraConsistency.One, CassandraConsistency.Serial, true)]
    public void Plan_RemoteAllowed_RemoteNodesOnlyAfterLocalAndNeverForLocalConsistency(CassandraConsistency consistency, CassandraConsistency? serial, bool remoteExpected)
    {
        var hosts = new[] { Node(1, "dc1"), Node(2, "dc2"), Node(3, "dc2") };
        var balancer = new CqlLoadBalancer(Settings with { AllowRemoteDataCenters = true }) { LocalDataCenter = "dc1" };

        var plan = balancer.Plan(Topology(hosts), null, null, consistency, serial).Hosts;

        Assert.Multiple(() =>
        {
            Assert.That(plan[0].Address, Is.EqualTo("10.0.0.1"));
            Assert.That(plan.Skip(1).Select(h => h.DataCenter), remoteExpected ? Has.Count.EqualTo(2).And.All.EqualTo("dc2") : Is.Empty);
        });
    }

    [Test]
    public void Plan_NodeMarkedDown_LastAndOnlyWhenItIsLocal()
    {
        var hosts = new[] { Node(1, "dc1"), Node(2, "dc1"), Node(3, "dc2") };
        var topology = Topology(hosts);
        var balancer = new CqlLoadBalancer(Settings) { LocalDataCenter = "dc1" };
        hosts[0].MarkDown();

        var plans = Enumerable.Range(0, 4).Select(_ => Addresses(balancer.Plan(topology, null, null, CassandraConsistency.LocalQuorum, null).Hosts)).ToList();

        Assert.That(plans, Has.All.EqualTo(new[] { "10.0.0.2", "10.0.0.1" }));
    }

    [TestCase(null, new[] { "dc1" }, "dc1")]
    [TestCase(null, new string[0], null)]
    [TestCase("dc2", new[] { "dc1", "dc2" }, "dc2")]
    public void ChooseLocalDataCenter_Valid_TheOneToUse(string? configured, string[] seen, string? expected)
    {
        Assert.That(CqlCluster.ChooseLocalDataCenter(configured, seen), Is.EqualTo(expected));
    }

    [TestCase(null, "set CassandraStoreOptions.LocalDataCenter")]
    [TestCase("dc3", "LocalDataCenter is 'dc3'")]
    public void ChooseLocalDataCenter_SeveralDataCentersAndNoneOrAnUnknownOne_RefusesNamingEach(string? configured, string expected)
    {
        Assert.That(
            () => CqlCluster.ChooseLocalDataCenter(configured, ["dc1", "dc2"]),
            Throws.InvalidOperationException.With.Message.Contains(expected).And.Message.Contains("'dc1', 'dc2'"));
    }
}
