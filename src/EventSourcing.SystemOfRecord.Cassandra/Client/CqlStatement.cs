namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// A statement with its bound values (<c>?</c> markers) and per-statement settings.
/// </summary>
/// <param name="Cql">The CQL text.</param>
/// <param name="Values">The values of the bind markers, in order.</param>
/// <param name="Consistency">The consistency level.</param>
/// <param name="IsIdempotent">Whether running it twice has the effect of running it once; only then are transient errors retried.</param>
/// <param name="Prepare">Whether to PREPARE once and EXECUTE, rather than send the text as a QUERY.</param>
internal sealed record CqlStatement(string Cql, IReadOnlyList<object?> Values, CassandraConsistency Consistency, bool IsIdempotent = true, bool Prepare = true)
{
    /// <summary>The serial consistency of a conditional statement.</summary>
    public CassandraConsistency? SerialConsistency { get; init; }

    /// <summary>The write timestamp in microseconds since the epoch; retries then write the same cell versions.</summary>
    public long? Timestamp { get; init; }

    /// <summary>Rows per page of a SELECT.</summary>
    public int? PageSize { get; init; }

    /// <summary>The per-request timeout; the client's default when null.</summary>
    public TimeSpan? Timeout { get; init; }
}
