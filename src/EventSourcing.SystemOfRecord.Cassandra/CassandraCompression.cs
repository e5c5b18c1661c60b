namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>Frame body compression between the client and the nodes (the native protocol's STARTUP option).</summary>
public enum CassandraCompression
{
    /// <summary>Frames travel uncompressed.</summary>
    None = 0,

    /// <summary>
    /// LZ4 block compression of every frame body after STARTUP, when the node offers it (a node that does not is
    /// spoken to uncompressed). It saves bandwidth on slow or metered links and costs CPU on both ends.
    /// </summary>
    Lz4 = 1,
}
