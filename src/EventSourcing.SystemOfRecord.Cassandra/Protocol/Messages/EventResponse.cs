using System.Net;

namespace EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

/// <summary>
/// EVENT (spec 4.2.6), pushed on stream -1 to a connection that REGISTERed: a node joined or left the ring
/// (TOPOLOGY_CHANGE), went up or down (STATUS_CHANGE), or the schema changed (SCHEMA_CHANGE).
/// </summary>
internal sealed class EventResponse : CqlResponse
{
    public const string TopologyChange = "TOPOLOGY_CHANGE";
    public const string StatusChange = "STATUS_CHANGE";
    public const string SchemaChange = "SCHEMA_CHANGE";

    private EventResponse(string eventType, string change, IPEndPoint? node, string? target, string? keyspace, string? name)
    {
        EventType = eventType;
        Change = change;
        Node = node;
        Target = target;
        Keyspace = keyspace;
        Name = name;
    }

    /// <summary>TOPOLOGY_CHANGE, STATUS_CHANGE or SCHEMA_CHANGE (others are kept with only this set).</summary>
    public string EventType { get; }

    /// <summary>NEW_NODE / REMOVED_NODE / MOVED_NODE, UP / DOWN, or CREATED / UPDATED / DROPPED.</summary>
    public string Change { get; }

    /// <summary>The node's native protocol address and port, for topology and status changes.</summary>
    public IPEndPoint? Node { get; }

    /// <summary>KEYSPACE, TABLE, TYPE, FUNCTION or AGGREGATE, for schema changes.</summary>
    public string? Target { get; }

    public string? Keyspace { get; }

    public string? Name { get; }

    public static EventResponse Read(ref CqlReadBuffer reader)
    {
        var eventType = reader.ReadString();
        switch (eventType)
        {
            case TopologyChange or StatusChange:
            {
                var change = reader.ReadString();
                return new EventResponse(eventType, change, ReadInet(ref reader), null, null, null);
            }

            case SchemaChange:
            {
                var schema = SchemaChangeResult.ReadChange(ref reader);
                return new EventResponse(eventType, schema.ChangeType, null, schema.Target, schema.Keyspace, schema.Name);
            }

            default:
                return new EventResponse(eventType, string.Empty, null, null, null, null);
        }
    }

    /// <summary>[inet]: a [byte] n (4 or 16), n address bytes, then an [int] port.</summary>
    private static IPEndPoint ReadInet(ref CqlReadBuffer reader)
    {
        var size = reader.ReadByte();
        if (size is not (4 or 16))
        {
            throw new CassandraProtocolException($"An [inet] address of {size} bytes; only 4 (IPv4) and 16 (IPv6) exist.");
        }

        var address = new IPAddress(reader.ReadRaw(size));
        var port = reader.ReadInt();
        if (port is < 0 or > IPEndPoint.MaxPort)
        {
            throw new CassandraProtocolException($"An [inet] port of {port}.");
        }

        return new IPEndPoint(address, port);
    }
}
