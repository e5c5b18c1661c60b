namespace EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

/// <summary>A response message, parsed from a frame body.</summary>
internal abstract class CqlResponse
{
    /// <summary>Server warnings sent with the response (the warning flag), if any.</summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];

    /// <summary>
    /// Parses a response body. <paramref name="knownResultMetadata"/> decodes rows sent without metadata
    /// (the skip-metadata flag of an EXECUTE).
    /// </summary>
    public static CqlResponse Parse(CqlFrameHeader header, ReadOnlySpan<byte> body, CqlResultMetadata? knownResultMetadata = null)
    {
        if ((header.Flags & CqlFrameHeader.FlagCompression) != 0)
        {
            throw new CassandraProtocolException("The server sent a compressed frame though no compression was negotiated.");
        }

        var reader = new CqlReadBuffer(body);
        if ((header.Flags & CqlFrameHeader.FlagTracing) != 0)
        {
            reader.ReadRaw(16);
        }

        IReadOnlyList<string> warnings = [];
        if ((header.Flags & CqlFrameHeader.FlagWarning) != 0)
        {
            warnings = reader.ReadStringList();
        }

        if ((header.Flags & CqlFrameHeader.FlagCustomPayload) != 0)
        {
            // Each entry: a [string] key and a [bytes] value, at least 6 bytes.
            var entries = reader.ReadShortCount(6);
            for (var i = 0; i < entries; i++)
            {
                reader.ReadString();
                reader.ReadBytesSpan(out _);
            }
        }

        CqlResponse response = header.Opcode switch
        {
            CqlOpcode.Error => ErrorResponse.Read(ref reader),
            CqlOpcode.Ready => new ReadyResponse(),
            CqlOpcode.Authenticate => new AuthenticateResponse(reader.ReadString()),
            CqlOpcode.Supported => new SupportedResponse(reader.ReadStringMultimap()),
            CqlOpcode.AuthChallenge => new AuthChallengeResponse(reader.ReadBytes()),
            CqlOpcode.AuthSuccess => new AuthSuccessResponse(reader.ReadBytes()),
            CqlOpcode.Result => ResultResponse.Read(ref reader, knownResultMetadata),
            CqlOpcode.Event => EventResponse.Read(ref reader),
            _ => throw new CassandraProtocolException($"Unexpected response opcode 0x{(byte)header.Opcode:X2}."),
        };
        response.Warnings = warnings;
        return response;
    }
}

/// <summary>READY: the connection is ready for queries (spec 4.2.2).</summary>
internal sealed class ReadyResponse : CqlResponse;

/// <summary>AUTHENTICATE: the server requires authentication with the named authenticator (spec 4.2.3).</summary>
internal sealed class AuthenticateResponse(string authenticator) : CqlResponse
{
    public string Authenticator { get; } = authenticator;
}

/// <summary>SUPPORTED: the STARTUP options the server supports, as a [string multimap] (spec 4.2.4).</summary>
internal sealed class SupportedResponse(Dictionary<string, List<string>> options) : CqlResponse
{
    public IReadOnlyDictionary<string, List<string>> Options { get; } = options;
}

/// <summary>AUTH_CHALLENGE: a SASL challenge (spec 4.2.7).</summary>
internal sealed class AuthChallengeResponse(byte[]? token) : CqlResponse
{
    public byte[]? Token { get; } = token;
}

/// <summary>AUTH_SUCCESS: authentication succeeded (spec 4.2.8).</summary>
internal sealed class AuthSuccessResponse(byte[]? token) : CqlResponse
{
    public byte[]? Token { get; } = token;
}
