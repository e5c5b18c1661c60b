namespace EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

/// <summary>A request message: its opcode and how its body is written.</summary>
internal abstract class CqlRequest
{
    public abstract CqlOpcode Opcode { get; }

    public abstract void WriteBody(CqlWriteBuffer writer);

    /// <summary>The whole frame, header included, with stream id 0 (the connection sets the real one).</summary>
    public CqlWriteBuffer ToFrame()
    {
        var buffer = CqlWriteBuffer.ForFrame();
        WriteBody(buffer);
        buffer.CompleteFrame(CqlFrameHeader.RequestVersion, 0, 0, Opcode);
        return buffer;
    }
}

/// <summary>OPTIONS: asks which STARTUP options the server supports (spec 4.1.3).</summary>
internal sealed class OptionsRequest : CqlRequest
{
    public static readonly OptionsRequest Instance = new();

    public override CqlOpcode Opcode => CqlOpcode.Options;

    public override void WriteBody(CqlWriteBuffer writer)
    {
    }
}

/// <summary>STARTUP: a [string map] of options; CQL_VERSION is mandatory (spec 4.1.1).</summary>
internal sealed class StartupRequest(IReadOnlyDictionary<string, string> options) : CqlRequest
{
    public IReadOnlyDictionary<string, string> Options { get; } = options;

    public override CqlOpcode Opcode => CqlOpcode.Startup;

    public override void WriteBody(CqlWriteBuffer writer) => writer.WriteStringMap(Options);
}

/// <summary>AUTH_RESPONSE: a SASL token as [bytes] (spec 4.1.2).</summary>
internal sealed class AuthResponseRequest(byte[] token) : CqlRequest
{
    public byte[] Token { get; } = token;

    public override CqlOpcode Opcode => CqlOpcode.AuthResponse;

    public override void WriteBody(CqlWriteBuffer writer) => writer.WriteBytes(Token);

    /// <summary>The SASL PLAIN token of PasswordAuthenticator: NUL, user name, NUL, password, in UTF-8.</summary>
    public static AuthResponseRequest PlainText(string userName, string password)
    {
        var token = new byte[2 + System.Text.Encoding.UTF8.GetByteCount(userName) + System.Text.Encoding.UTF8.GetByteCount(password)];
        var at = 1 + System.Text.Encoding.UTF8.GetBytes(userName, token.AsSpan(1));
        System.Text.Encoding.UTF8.GetBytes(password, token.AsSpan(at + 1));
        return new AuthResponseRequest(token);
    }
}

/// <summary>QUERY: a [long string] of CQL and the query parameters (spec 4.1.4).</summary>
internal sealed class QueryRequest(string query, CqlQueryParameters parameters) : CqlRequest
{
    public string Query { get; } = query;

    public CqlQueryParameters Parameters { get; } = parameters;

    public override CqlOpcode Opcode => CqlOpcode.Query;

    public override void WriteBody(CqlWriteBuffer writer)
    {
        writer.WriteLongString(Query);
        Parameters.Write(writer);
    }
}

/// <summary>PREPARE: a [long string] of CQL (spec 4.1.5).</summary>
internal sealed class PrepareRequest(string query) : CqlRequest
{
    public string Query { get; } = query;

    public override CqlOpcode Opcode => CqlOpcode.Prepare;

    public override void WriteBody(CqlWriteBuffer writer) => writer.WriteLongString(Query);
}

/// <summary>EXECUTE: the prepared id as [short bytes] and the query parameters (spec 4.1.6).</summary>
internal sealed class ExecuteRequest(byte[] statementId, CqlQueryParameters parameters) : CqlRequest
{
    public byte[] StatementId { get; } = statementId;

    public CqlQueryParameters Parameters { get; } = parameters;

    public override CqlOpcode Opcode => CqlOpcode.Execute;

    public override void WriteBody(CqlWriteBuffer writer)
    {
        writer.WriteShortBytes(StatementId);
        Parameters.Write(writer);
    }
}

/// <summary>REGISTER: the event types to be told about, as a [string list] (spec 4.1.8).</summary>
internal sealed class RegisterRequest(IReadOnlyCollection<string> eventTypes) : CqlRequest
{
    public IReadOnlyCollection<string> EventTypes { get; } = eventTypes;

    public override CqlOpcode Opcode => CqlOpcode.Register;

    public override void WriteBody(CqlWriteBuffer writer) => writer.WriteStringList(EventTypes);
}

/// <summary>The kind of a BATCH (spec 4.1.7).</summary>
internal enum CqlBatchType : byte
{
    Logged = 0,
    Unlogged = 1,
    Counter = 2,
}

/// <summary>One statement of a batch: either CQL text or a prepared id, with its values.</summary>
internal sealed record CqlBatchEntry(string? Query, byte[]? PreparedId, IReadOnlyList<object?> Values);

/// <summary>BATCH: type, statements, consistency, flags, optional serial consistency and timestamp (spec 4.1.7).</summary>
internal sealed class BatchRequest(CqlBatchType type, IReadOnlyList<CqlBatchEntry> entries, CassandraConsistency consistency, CassandraConsistency? serialConsistency, long? timestamp) : CqlRequest
{
    public CqlBatchType Type { get; } = type;

    public IReadOnlyList<CqlBatchEntry> Entries { get; } = entries;

    public override CqlOpcode Opcode => CqlOpcode.Batch;

    public override void WriteBody(CqlWriteBuffer writer)
    {
        writer.WriteByte((byte)Type);
        writer.WriteShort(checked((ushort)Entries.Count));
        foreach (var entry in Entries)
        {
            if (entry.PreparedId is { } id)
            {
                writer.WriteByte(1);
                writer.WriteShortBytes(id);
            }
            else
            {
                writer.WriteByte(0);
                writer.WriteLongString(entry.Query ?? throw new ArgumentException("A batch entry needs a query or a prepared id."));
            }

            writer.WriteShort(checked((ushort)entry.Values.Count));
            foreach (var value in entry.Values)
            {
                CqlValueWriter.WriteValue(writer, value);
            }
        }

        writer.WriteShort((ushort)consistency);
        byte flags = 0;
        if (serialConsistency is not null)
        {
            flags |= CqlQueryParameters.FlagSerialConsistency;
        }

        if (timestamp is not null)
        {
            flags |= CqlQueryParameters.FlagDefaultTimestamp;
        }

        writer.WriteByte(flags);
        if (serialConsistency is { } serial)
        {
            writer.WriteShort((ushort)serial);
        }

        if (timestamp is { } micros)
        {
            writer.WriteLong(micros);
        }
    }
}
