using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Client;

public sealed class Murmur3TokenTests
{
    // Expected tokens computed with the DataStax Python driver: python3 -c "from cassandra.murmur3 import murmur3; print(murmur3(bytes.fromhex(...)))".
    [TestCase("", 0L)]
    [TestCase("61", -8839064797231613815L)]
    [TestCase("68656c6c6f", -3758069500696749310L)]
    [TestCase("30313233343536373839616263646566", 5467490433528156583L)]
    [TestCase("30313233343536373839616263646566ff807f", -2167402656119602556L)]
    [TestCase("c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6", 4398332801500074197L)]
    public void Compute_KnownKeys_MatchesPythonDriver(string keyHex, long expected)
    {
        Assert.That(Murmur3Token.Compute(Hex.Bytes(keyHex)), Is.EqualTo(expected));
    }

    [Test]
    public void RoutingKey_TwoComponents_LengthBytesAndZeroEach()
    {
        var key = Murmur3Token.RoutingKey([[0xAA], [0xBB, 0xCC]]);

        Assert.That(Hex.Of(key), Is.EqualTo(Hex.Join("0001 AA 00", "0002 BBCC 00")));
    }
}
