namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The base of the errors the system of record and its providers raise on purpose. Each provider derives its own
/// base from it (the Cassandra store's <c>CassandraException</c>, say), and retries read only <see cref="IsTransient"/>.
/// </summary>
public class SystemOfRecordException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public SystemOfRecordException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>Whether the same operation, tried again later, may succeed (a broker or node away, a lock held, a timeout).</summary>
    /// <value><see langword="false"/> unless a derived type says otherwise.</value>
    public virtual bool IsTransient => false;
}
