namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>
/// The base of every error the Cassandra store raises: server errors, connection failures and protocol violations.
/// <see cref="SystemOfRecordException.IsTransient"/> says whether the same idempotent statement may succeed when
/// retried; the client's retries read nothing else.
/// </summary>
public class CassandraException : SystemOfRecordException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected CassandraException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>Whether the request may have run on the server before this error (a write timeout, a connection lost after it was sent).</summary>
    internal bool MayHaveBeenApplied { get; init; }
}

/// <summary>
/// No node could be reached, a connection broke while the request was in flight, or the request timed out on the client.
/// Transient: an idempotent statement is retried on another node.
/// </summary>
public sealed class CassandraConnectionException : CassandraException
{
    internal CassandraConnectionException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>
/// The server broke the native protocol, or sent something this client does not understand or accept (a frame over the
/// size limit, a count larger than its frame, a type nested too deeply). The connection it came on is closed. Not transient.
/// </summary>
public sealed class CassandraProtocolException : CassandraException
{
    internal CassandraProtocolException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>The declared body length of a response frame refused for its size; null for other protocol errors.</summary>
    internal int? OversizedResponseBytes { get; init; }
}
