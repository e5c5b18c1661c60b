using EventSourcing.SystemOfRecord.Cassandra.Protocol;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

// The spec's notation read from untrusted bytes: every length and count is checked against what is left.
public sealed class CqlReadBufferTests
{
    [Test]
    public void ReadRaw_CountNearIntMaxAfterSomeBytes_ProtocolErrorNotOverflow()
    {
        Assert.That(() =>
        {
            var reader = new CqlReadBuffer(new byte[8]);
            reader.ReadInt();
            reader.ReadRaw(int.MaxValue);
        }, Throws.InstanceOf<CassandraProtocolException>().With.Message.Contains("ended early"));
    }

    [Test]
    public void ReadBytes_LengthIntMax_ProtocolError()
    {
        Assert.That(() =>
        {
            var reader = new CqlReadBuffer(Hex.Bytes("00000000 7FFFFFFF 00"));
            reader.ReadInt();
            reader.ReadBytes();
        }, Throws.InstanceOf<CassandraProtocolException>());
    }

    [Test]
    public void ReadStringList_CountLargerThanBytesLeft_RefusedBeforeReadingItems()
    {
        Assert.That(() =>
        {
            var reader = new CqlReadBuffer(Hex.Bytes("FFFF 0001 61"));
            reader.ReadStringList();
        }, Throws.InstanceOf<CassandraProtocolException>().With.Message.Contains("65535"));
    }

    [Test]
    public void ReadCount_CountFitsExactly_Returned()
    {
        var reader = new CqlReadBuffer(Hex.Bytes("00000002 0000 0000"));

        Assert.That(reader.ReadCount(2), Is.EqualTo(2));
    }

    [TestCase("80000000")]
    [TestCase("00000003")]
    public void ReadCount_NegativeOrTooLarge_ProtocolError(string count)
    {
        Assert.That(() =>
        {
            var reader = new CqlReadBuffer(Hex.Bytes(count + "0000 0000"));
            reader.ReadCount(2);
        }, Throws.InstanceOf<CassandraProtocolException>());
    }
}
