namespace EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

/// <summary>ERROR: an [int] code, a [string] message and code-specific fields (spec 9), mapped to a typed exception.</summary>
internal sealed class ErrorResponse(int code, string message, CassandraException exception) : CqlResponse
{
    public const int ServerError = 0x0000;
    public const int ProtocolError = 0x000A;
    public const int BadCredentials = 0x0100;
    public const int Unavailable = 0x1000;
    public const int Overloaded = 0x1001;
    public const int IsBootstrapping = 0x1002;
    public const int TruncateError = 0x1003;
    public const int WriteTimeout = 0x1100;
    public const int ReadTimeout = 0x1200;
    public const int ReadFailure = 0x1300;
    public const int FunctionFailure = 0x1400;
    public const int WriteFailure = 0x1500;
    public const int SyntaxError = 0x2000;
    public const int Unauthorized = 0x2100;
    public const int Invalid = 0x2200;
    public const int ConfigError = 0x2300;
    public const int AlreadyExists = 0x2400;
    public const int Unprepared = 0x2500;

    public int Code { get; } = code;

    public string Message { get; } = message;

    public CassandraException Exception { get; } = exception;

    public static ErrorResponse Read(ref CqlReadBuffer reader)
    {
        var code = reader.ReadInt();
        var message = reader.ReadString();
        CassandraException exception;
        switch (code)
        {
            case Unavailable:
            {
                var consistency = (CassandraConsistency)reader.ReadShort();
                var required = reader.ReadInt();
                var alive = reader.ReadInt();
                exception = new CassandraUnavailableException(
                    $"Unavailable: {message} (consistency {consistency}, {required} replicas required, {alive} alive)", consistency, required, alive);
                break;
            }

            case WriteTimeout:
            {
                var consistency = (CassandraConsistency)reader.ReadShort();
                var received = reader.ReadInt();
                var blockFor = reader.ReadInt();
                var writeType = reader.ReadString();
                exception = new CassandraWriteTimeoutException(
                    $"Write timeout: {message} (consistency {consistency}, {received} of {blockFor} acknowledged, write type {writeType})", consistency, received, blockFor, writeType)
                {
                    // Replicas that did not answer in time may still apply the write.
                    MayHaveBeenApplied = true,
                };
                break;
            }

            case ReadTimeout:
            {
                var consistency = (CassandraConsistency)reader.ReadShort();
                var received = reader.ReadInt();
                var blockFor = reader.ReadInt();
                var dataPresent = reader.ReadByte() != 0;
                exception = new CassandraReadTimeoutException(
                    $"Read timeout: {message} (consistency {consistency}, {received} of {blockFor} answered)", consistency, received, blockFor, dataPresent);
                break;
            }

            case Overloaded:
                exception = new CassandraOverloadedException($"Overloaded: {message}");
                break;
            case IsBootstrapping:
                exception = new CassandraBootstrappingException($"Bootstrapping: {message}");
                break;
            case Unprepared:
                exception = new CassandraUnpreparedException($"Unprepared: {message}", reader.ReadShortBytes());
                break;
            case SyntaxError:
                exception = new CassandraSyntaxException($"Syntax error: {message}");
                break;
            case Invalid or ConfigError or AlreadyExists:
                exception = new CassandraInvalidQueryException(code, $"Invalid query: {message}");
                break;
            case Unauthorized:
                exception = new CassandraUnauthorizedException($"Unauthorized: {message}");
                break;
            case BadCredentials:
                exception = new CassandraAuthenticationException($"Authentication failed: {message}");
                break;
            default:
                // Read/write/function failures, truncate and server errors: the remaining fields are not needed. A write
                // failure or an unexpected server error may come after some replicas applied the write.
                exception = new CassandraServerException(code, $"Server error 0x{code:X4}: {message}")
                {
                    MayHaveBeenApplied = code is WriteFailure or ServerError,
                };
                break;
        }

        return new ErrorResponse(code, message, exception);
    }
}
