namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>An ERROR response from a Cassandra node (spec section 9); the typed subclasses carry the details.</summary>
public class CassandraServerException : CassandraException
{
    internal CassandraServerException(int errorCode, string message)
        : base(message) => ErrorCode = errorCode;

    /// <summary>The error code of the native protocol, for example <c>0x1000</c> for Unavailable.</summary>
    public int ErrorCode { get; }
}

/// <summary>Too few replicas were alive to reach the consistency level; nothing was tried. Transient.</summary>
public sealed class CassandraUnavailableException : CassandraServerException
{
    internal CassandraUnavailableException(string message, CassandraConsistency consistency, int required, int alive)
        : base(0x1000, message)
    {
        Consistency = consistency;
        Required = required;
        Alive = alive;
    }

    /// <summary>The consistency level of the request.</summary>
    public CassandraConsistency Consistency { get; }

    /// <summary>How many replicas the consistency level needs.</summary>
    public int Required { get; }

    /// <summary>How many replicas were known alive.</summary>
    public int Alive { get; }

    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>The coordinator was overloaded and refused the request. Transient.</summary>
public sealed class CassandraOverloadedException : CassandraServerException
{
    internal CassandraOverloadedException(string message)
        : base(0x1001, message)
    {
    }

    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>The coordinator is still bootstrapping. Transient: another node can take the request.</summary>
public sealed class CassandraBootstrappingException : CassandraServerException
{
    internal CassandraBootstrappingException(string message)
        : base(0x1002, message)
    {
    }

    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>Replicas did not acknowledge a write in time. Transient for idempotent writes.</summary>
public sealed class CassandraWriteTimeoutException : CassandraServerException
{
    internal CassandraWriteTimeoutException(string message, CassandraConsistency consistency, int received, int blockFor, string writeType)
        : base(0x1100, message)
    {
        Consistency = consistency;
        Received = received;
        BlockFor = blockFor;
        WriteType = writeType;
    }

    /// <summary>The consistency level of the request.</summary>
    public CassandraConsistency Consistency { get; }

    /// <summary>How many replicas acknowledged the write.</summary>
    public int Received { get; }

    /// <summary>How many acknowledgements the consistency level needs.</summary>
    public int BlockFor { get; }

    /// <summary>The kind of write: SIMPLE, BATCH, UNLOGGED_BATCH, COUNTER, BATCH_LOG, CAS, VIEW or CDC.</summary>
    public string WriteType { get; }

    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>Replicas did not answer a read in time. Transient.</summary>
public sealed class CassandraReadTimeoutException : CassandraServerException
{
    internal CassandraReadTimeoutException(string message, CassandraConsistency consistency, int received, int blockFor, bool dataPresent)
        : base(0x1200, message)
    {
        Consistency = consistency;
        Received = received;
        BlockFor = blockFor;
        DataPresent = dataPresent;
    }

    /// <summary>The consistency level of the request.</summary>
    public CassandraConsistency Consistency { get; }

    /// <summary>How many replicas answered.</summary>
    public int Received { get; }

    /// <summary>How many answers the consistency level needs.</summary>
    public int BlockFor { get; }

    /// <summary>Whether the replica asked for the data answered.</summary>
    public bool DataPresent { get; }

    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>
/// The node does not know the prepared statement (it restarted, or never saw it). The client re-prepares and
/// re-executes by itself; this surfaces only when that fails too.
/// </summary>
public sealed class CassandraUnpreparedException : CassandraServerException
{
    internal CassandraUnpreparedException(string message, byte[] statementId)
        : base(0x2500, message) => StatementId = statementId;

    internal byte[] StatementId { get; }
}

/// <summary>The statement is not valid CQL. Not transient.</summary>
public sealed class CassandraSyntaxException : CassandraServerException
{
    internal CassandraSyntaxException(string message)
        : base(0x2000, message)
    {
    }
}

/// <summary>The statement is syntactically valid but invalid (unknown table, wrong types). Not transient.</summary>
public sealed class CassandraInvalidQueryException : CassandraServerException
{
    internal CassandraInvalidQueryException(int errorCode, string message)
        : base(errorCode, message)
    {
    }
}

/// <summary>The logged-in user may not run the statement. Not transient.</summary>
public sealed class CassandraUnauthorizedException : CassandraServerException
{
    internal CassandraUnauthorizedException(string message)
        : base(0x2100, message)
    {
    }
}

/// <summary>Authentication failed: bad credentials or an authenticator this client does not speak. Not transient.</summary>
public sealed class CassandraAuthenticationException : CassandraServerException
{
    internal CassandraAuthenticationException(string message)
        : base(0x0100, message)
    {
    }
}
