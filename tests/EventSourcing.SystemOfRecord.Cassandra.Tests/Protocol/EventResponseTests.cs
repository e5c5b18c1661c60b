using System.Net;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

// EVENT bodies worked out from the spec, section 4.2.6: [string] type, then [string] change and [inet]
// ([byte] size, address, [int] port) for node events, or <change_type><target><options> for schema changes.
public sealed class EventResponseTests
{
    private static EventResponse Parse(string bodyHex)
    {
        var body = Hex.Bytes(bodyHex);
        return (EventResponse)CqlResponse.Parse(new CqlFrameHeader(CqlFrameHeader.ResponseVersion, 0, -1, CqlOpcode.Event, body.Length), body);
    }

    private static string Str(string text) => $"{System.Text.Encoding.UTF8.GetByteCount(text):X4}{Hex.Utf8(text)}";

    [Test]
    public void Parse_TopologyChangeNewNodeIPv4_ChangeAndEndpoint()
    {
        var pushed = Parse(Str("TOPOLOGY_CHANGE") + Str("NEW_NODE") + "04 0A000007 00002352");

        Assert.Multiple(() =>
        {
            Assert.That(pushed.EventType, Is.EqualTo(EventResponse.TopologyChange));
            Assert.That(pushed.Change, Is.EqualTo("NEW_NODE"));
            Assert.That(pushed.Node, Is.EqualTo(new IPEndPoint(IPAddress.Parse("10.0.0.7"), 9042)));
        });
    }

    [Test]
    public void Parse_StatusChangeDownIPv6_ChangeAndEndpoint()
    {
        var pushed = Parse(Str("STATUS_CHANGE") + Str("DOWN") + "10 00000000000000000000000000000001 00002353");

        Assert.Multiple(() =>
        {
            Assert.That((pushed.EventType, pushed.Change), Is.EqualTo((EventResponse.StatusChange, "DOWN")));
            Assert.That(pushed.Node, Is.EqualTo(new IPEndPoint(IPAddress.IPv6Loopback, 9043)));
        });
    }

    [Test]
    public void Parse_SchemaChangeKeyspaceAndTable_TargetKeyspaceAndName()
    {
        var keyspace = Parse(Str("SCHEMA_CHANGE") + Str("CREATED") + Str("KEYSPACE") + Str("sor"));
        var table = Parse(Str("SCHEMA_CHANGE") + Str("UPDATED") + Str("TABLE") + Str("sor") + Str("events"));

        Assert.Multiple(() =>
        {
            Assert.That((keyspace.Change, keyspace.Target, keyspace.Keyspace, keyspace.Name), Is.EqualTo(("CREATED", "KEYSPACE", "sor", (string?)null)));
            Assert.That((table.Change, table.Target, table.Keyspace, table.Name), Is.EqualTo(("UPDATED", "TABLE", "sor", "events")));
        });
    }

    [TestCase("05 0A00000700 00002352")]
    [TestCase("04 0A000007 FFFFFFFF")]
    [TestCase("04 0A00")]
    public void Parse_BadInet_ProtocolException(string inetHex)
    {
        Assert.That(() => Parse(Str("STATUS_CHANGE") + Str("UP") + inetHex), Throws.InstanceOf<CassandraProtocolException>());
    }
}
