namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>A CQL consistency level, with the values the native protocol uses on the wire.</summary>
public enum CassandraConsistency : ushort
{
    /// <summary>A write is stored on at least one node, hinted handoff included.</summary>
    Any = 0x0000,

    /// <summary>One replica.</summary>
    One = 0x0001,

    /// <summary>Two replicas.</summary>
    Two = 0x0002,

    /// <summary>Three replicas.</summary>
    Three = 0x0003,

    /// <summary>A majority of all replicas.</summary>
    Quorum = 0x0004,

    /// <summary>Every replica.</summary>
    All = 0x0005,

    /// <summary>A majority of the replicas in the local data center (the store's default).</summary>
    LocalQuorum = 0x0006,

    /// <summary>A majority of the replicas in every data center.</summary>
    EachQuorum = 0x0007,

    /// <summary>Serial (Paxos) consistency over all data centers.</summary>
    Serial = 0x0008,

    /// <summary>Serial (Paxos) consistency in the local data center.</summary>
    LocalSerial = 0x0009,

    /// <summary>One replica in the local data center.</summary>
    LocalOne = 0x000A,
}
