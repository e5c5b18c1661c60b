namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>
/// The base of every error the Cassandra store raises: server errors, connection failures and protocol violations.
/// <see cref="IsTransient"/> says whether the same idempotent statement may succeed when retried.
/// </summary>
public class CassandraException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected CassandraException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>Whether retrying the same idempotent statement (maybe on another node) may succeed.</summary>
    public virtual bool IsTransient => false;
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

/// <summary>The server broke the native protocol, or sent something this client does not understand.</summary>
public sealed class CassandraProtocolException : CassandraException
{
    internal CassandraProtocolException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
