using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Support;

/// <summary>
/// A test CQL server: one "node" speaking native protocol v4 on loopback over an in-memory <see cref="CqlTestDatabase"/>
/// (several nodes over one database act as replicas; <see cref="CqlTestRing"/> says where each sits). It answers
/// OPTIONS, STARTUP (with lz4 compression when asked), AUTH_RESPONSE (SASL PLAIN), REGISTER, QUERY, PREPARE, EXECUTE and
/// BATCH for the CQL the store and the Python driver's check use, plus the system.local, system.peers(_v2) and
/// system_schema.keyspaces rows a driver reads to discover the cluster, and pushes EVENTs to connections that
/// registered (<see cref="PushEventAsync"/>; schema changes by itself). Faults: <see cref="StopAsync"/> (node down),
/// <see cref="RestartAsync"/> (forgets prepared statements: UNPREPARED), <see cref="FailNext"/> (error responses),
/// <see cref="ResponseDelay"/>, <see cref="DropConnections"/>, <see cref="DropConnectionAfterRequests"/>, a hostile node
/// (<see cref="Hostility"/>: answers garbage, stops reading, closes mid-frame) and <see cref="RewriteResponse"/> (fuzzing).
/// <see cref="RecordResponses"/> keeps every frame sent. INSERT ... USING TTL
/// expires rows on the database's <see cref="CqlTestDatabase.Clock"/>.
/// Message encoding here is written separately from the client's (only the [int]/[string] primitives are shared).
/// </summary>
public sealed class CqlServerMock : IAsyncDisposable
{
    public const string Authenticator = "org.apache.cassandra.auth.PasswordAuthenticator";

    private readonly ConcurrentDictionary<string, CqlTestStatement> _prepared = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Socket, byte> _clients = new();
    private readonly ConcurrentQueue<(int Code, Func<string, bool> Matches, bool ApplyFirst)> _faults = new();
    private readonly ConcurrentDictionary<string, int> _requestCounts = new(StringComparer.Ordinal);
    private TcpListener? _listener;
    private CancellationTokenSource _stop = new();
    private Task _accept = Task.CompletedTask;
    private int _requestsUntilDrop = -1;
    private int _unsupportedVersionRequests;
    private int _writesForOtherNodes;
    private int _statements;
    private int _compressedFramesReceived;
    private long _bytesReceived;
    private long _bytesSent;
    private readonly ConcurrentDictionary<Session, byte> _sessions = new();

    public CqlServerMock(CqlTestDatabase? database = null, int nodeIndex = 0)
    {
        Database = database ?? new CqlTestDatabase();
        NodeIndex = nodeIndex;
    }

    public CqlTestDatabase Database { get; }

    public int NodeIndex { get; }

    /// <summary>Where this node sits in the ring, and its address.</summary>
    public CqlTestNode Node => Database.Ring[NodeIndex];

    public int Port { get; set; }

    public string ContactPoint => $"{Node.Address}:{Port}";

    /// <summary>Whether SUPPORTED offers lz4 compression (real nodes do).</summary>
    public bool OfferCompression { get; set; } = true;

    /// <summary>Frames that arrived lz4-compressed.</summary>
    public int CompressedFramesReceived => Volatile.Read(ref _compressedFramesReceived);

    /// <summary>Frame bytes (headers included) received and sent, as they crossed the socket.</summary>
    public (long Received, long Sent) WireBytes => (Interlocked.Read(ref _bytesReceived), Interlocked.Read(ref _bytesSent));

    /// <summary>Connections open now that negotiated lz4.</summary>
    public int CompressedConnections => _sessions.Keys.Count(s => s.Compressed);

    /// <summary>Connections open now that REGISTERed for events.</summary>
    public int RegisteredConnections => _sessions.Keys.Count(s => s.Events.Count > 0);

    /// <summary>QUERY, EXECUTE and BATCH requests this node coordinated on user (non-system) keyspaces.</summary>
    public int Statements => Volatile.Read(ref _statements);

    /// <summary>User name and password PasswordAuthenticator accepts; null for no authentication.</summary>
    public (string User, string Password)? Credentials { get; set; }

    /// <summary>The server certificate; null for plain text.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>How long every QUERY/EXECUTE/BATCH/PREPARE waits before it is answered.</summary>
    public TimeSpan ResponseDelay { get; set; }

    /// <summary>The CQL of every QUERY, PREPARE and EXECUTE received, in order.</summary>
    public ConcurrentQueue<string> ReceivedCql { get; } = new();

    /// <summary>The CQL of every QUERY and EXECUTE received (not PREPARE), in order.</summary>
    public ConcurrentQueue<string> ExecutedCql { get; } = new();

    /// <summary>The consistency level of the latest QUERY or EXECUTE of each CQL text.</summary>
    public ConcurrentDictionary<string, CassandraConsistency> ConsistencyOf { get; } = new(StringComparer.Ordinal);

    /// <summary>The serial consistency of the latest QUERY or EXECUTE of each CQL text that carried one.</summary>
    public ConcurrentDictionary<string, CassandraConsistency> SerialConsistencyOf { get; } = new(StringComparer.Ordinal);

    /// <summary>Frames that arrived with a protocol version other than v4 (and got a protocol error).</summary>
    public int UnsupportedVersionRequests => Volatile.Read(ref _unsupportedVersionRequests);

    /// <summary>Writes this node coordinated for a partition it holds no replica of (by the keyspace's replication).</summary>
    public int WritesForOtherNodes => Volatile.Read(ref _writesForOtherNodes);

    /// <summary>How the node misbehaves once a connection is ready (after STARTUP and authentication).</summary>
    public CqlHostility Hostility { get; set; }

    /// <summary>
    /// Replaces the answer to a statement (QUERY, PREPARE, EXECUTE, BATCH): given the request's opcode and body and the
    /// frame the node would send (header included, stream id set), returns the bytes to send instead, or null to keep it.
    /// </summary>
    internal Func<CqlOpcode, byte[], byte[], byte[]?>? RewriteResponse { get; set; }

    /// <summary>Whether <see cref="SentFrames"/> keeps the frames this node sends.</summary>
    public bool RecordResponses { get; set; }

    /// <summary>Every frame sent (header included) while <see cref="RecordResponses"/> is on, in order.</summary>
    public ConcurrentQueue<byte[]> SentFrames { get; } = new();

    /// <summary>Client connections open now.</summary>
    public int ConnectedClients => _clients.Count;

    public int RequestCount(string opcode) => _requestCounts.TryGetValue(opcode, out var count) ? count : 0;

    public Task StartAsync()
    {
        _stop = new CancellationTokenSource();
        _listener = new TcpListener(Node.Address, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Node.Port = Port;
        Database.SchemaChanged += OnSchemaChanged;
        _accept = AcceptLoopAsync(_listener, _stop.Token);
        return Task.CompletedTask;
    }

    /// <summary>The node goes down: stops listening and closes every connection.</summary>
    public async Task StopAsync()
    {
        Database.SchemaChanged -= OnSchemaChanged;
        await _stop.CancelAsync();
        _listener?.Stop();
        DropConnections();
        try
        {
            await _accept;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Down, then up on the same port, having forgotten its prepared statements.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        _prepared.Clear();
        await StartAsync();
    }

    /// <summary>
    /// Pushes an EVENT (stream -1) to every connection that registered for <paramref name="eventType"/>; the body after
    /// the type is written by <paramref name="writeBody"/>.
    /// </summary>
    internal async Task PushEventAsync(string eventType, Action<CqlWriteBuffer> writeBody)
    {
        var body = new CqlWriteBuffer();
        body.WriteString(eventType);
        writeBody(body);
        foreach (var session in _sessions.Keys.Where(s => s.Events.ContainsKey(eventType)))
        {
            try
            {
                await WriteAsync(session, CqlFrameHeader.ResponseVersion, -1, CqlOpcode.Event, body, CancellationToken.None);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                // That client is gone.
            }
        }
    }

    /// <summary>A TOPOLOGY_CHANGE or STATUS_CHANGE about <paramref name="node"/>: [string] change, then its [inet].</summary>
    public Task PushNodeEventAsync(string eventType, string change, CqlTestNode node) => PushEventAsync(eventType, body =>
    {
        body.WriteString(change);
        var address = node.Address.GetAddressBytes();
        body.WriteByte((byte)address.Length);
        body.WriteRaw(address);
        body.WriteInt(node.Port);
    });

    /// <summary>
    /// The next <paramref name="count"/> statements whose CQL contains <paramref name="cqlContains"/> get error
    /// <paramref name="code"/>; with <paramref name="applyFirst"/> the statement runs first (a write timeout after
    /// the replicas applied it), else it does not run.
    /// </summary>
    public void FailNext(int code, int count = 1, string cqlContains = "", bool applyFirst = false)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue((code, cql => cql.Contains(cqlContains, StringComparison.OrdinalIgnoreCase), applyFirst));
        }
    }

    /// <summary>Closes every client connection (the node stays up).</summary>
    public void DropConnections()
    {
        foreach (var client in _clients.Keys)
        {
            try
            {
                client.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        _clients.Clear();
    }

    /// <summary>Closes the connection instead of answering the <paramref name="count"/>-th statement from now.</summary>
    public void DropConnectionAfterRequests(int count) => Volatile.Write(ref _requestsUntilDrop, count);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    /// <summary>A self-signed certificate for localhost, for TLS tests.</summary>
    public static X509Certificate2 CreateSelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            socket.NoDelay = true;
            _clients[socket] = 0;
            _ = ServeAsync(socket, cancellationToken);
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken cancellationToken)
    {
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        var session = new Session { Stream = stream };
        try
        {
            if (Certificate is { } certificate)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, cancellationToken);
                stream = session.Stream = ssl;
            }

            _sessions[session] = 0;
            var header = new byte[CqlFrameHeader.Size];
            while (!cancellationToken.IsCancellationRequested)
            {
                if (Hostility == CqlHostility.StopReading && session.Ready)
                {
                    // A stalled node: the connection stays open, nothing more is read, the socket buffers fill up.
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                await stream.ReadExactlyAsync(header, cancellationToken);
                var frame = CqlFrameHeader.Read(header);
                var body = new byte[frame.Length];
                await stream.ReadExactlyAsync(body, cancellationToken);
                Interlocked.Add(ref _bytesReceived, header.Length + body.Length);
                if (frame.Version != CqlFrameHeader.RequestVersion)
                {
                    // A driver opening with a newer version is told which ones this node speaks, and downgrades.
                    Interlocked.Increment(ref _unsupportedVersionRequests);
                    var error = Error(0x000A, $"Invalid or unsupported protocol version ({frame.Version & 0x7F}); supported versions are (3/v3, 4/v4)");
                    await WriteAsync(session, (byte)(0x80 | (frame.Version & 0x7F)), frame.Stream, CqlOpcode.Error, error, cancellationToken);
                    continue;
                }

                if ((frame.Flags & 0x01) != 0)
                {
                    if (!session.Compressed)
                    {
                        await WriteAsync(session, CqlFrameHeader.ResponseVersion, frame.Stream, CqlOpcode.Error, Error(0x000A, "Compressed frame but no compression was negotiated"), cancellationToken);
                        continue;
                    }

                    Interlocked.Increment(ref _compressedFramesReceived);
                    body = Lz4Decompress(body);
                }

                _requestCounts.AddOrUpdate(frame.Opcode.ToString(), 1, (_, n) => n + 1);
                if (frame.Opcode is CqlOpcode.Query or CqlOpcode.Execute or CqlOpcode.Batch && Interlocked.Decrement(ref _requestsUntilDrop) == 0)
                {
                    socket.Close();
                    return;
                }

                var delay = ResponseDelay;
                if (delay > TimeSpan.Zero && frame.Opcode is CqlOpcode.Query or CqlOpcode.Execute or CqlOpcode.Batch or CqlOpcode.Prepare)
                {
                    _ = Task.Run(async () =>
                    {
                        await Task.Delay(delay, cancellationToken);
                        var (opcode, response) = Handle(session, frame.Opcode, body);
                        await AnswerAsync(session, socket, frame, body, opcode, response, cancellationToken);
                    }, cancellationToken);
                    continue;
                }

                var (responseOpcode, responseBody) = Handle(session, frame.Opcode, body);
                if (!await AnswerAsync(session, socket, frame, body, responseOpcode, responseBody, cancellationToken))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or EndOfStreamException or System.Security.Authentication.AuthenticationException)
        {
            // The client went away, or the node was stopped.
        }
        finally
        {
            _sessions.TryRemove(session, out _);
            _clients.TryRemove(socket, out _);
            await stream.DisposeAsync();
        }
    }

    /// <summary>Sends the answer to a request, as a hostile node would when asked to; false when the connection was closed.</summary>
    private async Task<bool> AnswerAsync(Session session, Socket socket, CqlFrameHeader request, byte[] requestBody, CqlOpcode opcode, CqlWriteBuffer body, CancellationToken cancellationToken)
    {
        var frame = Frame(session, CqlFrameHeader.ResponseVersion, request.Stream, opcode, body);
        if (request.Opcode is CqlOpcode.Query or CqlOpcode.Prepare or CqlOpcode.Execute or CqlOpcode.Batch)
        {
            switch (Hostility)
            {
                case CqlHostility.AnswerGarbage:
                    // Random bytes where a frame belongs, seeded by the request so that a run can be repeated.
                    var random = new Random(request.Stream);
                    frame = new byte[random.Next(1, 200)];
                    random.NextBytes(frame);
                    break;
                case CqlHostility.CloseMidFrame:
                    await WriteFrameAsync(session, frame.AsMemory(0, frame.Length / 2), cancellationToken);
                    socket.Close();
                    return false;
            }

            frame = RewriteResponse?.Invoke(request.Opcode, requestBody, frame) ?? frame;
        }

        if (RecordResponses)
        {
            SentFrames.Enqueue(frame);
        }

        await WriteFrameAsync(session, frame, cancellationToken);
        return true;
    }

    private Task WriteAsync(Session session, byte version, short streamId, CqlOpcode opcode, CqlWriteBuffer body, CancellationToken cancellationToken) =>
        WriteFrameAsync(session, Frame(session, version, streamId, opcode, body), cancellationToken);

    /// <summary>One frame; once lz4 was agreed on the connection, a non-empty body goes compressed.</summary>
    private static byte[] Frame(Session session, byte version, short streamId, CqlOpcode opcode, CqlWriteBuffer body)
    {
        // An empty body (READY) goes as it is: the Python driver's lz4 cannot decode an empty block, and the flag says which it is.
        var compress = session.Compressed && body.Length > 0;
        var payload = compress ? Lz4Compress(body.WrittenSpan) : body.WrittenSpan.ToArray();
        var frame = new byte[CqlFrameHeader.Size + payload.Length];
        new CqlFrameHeader(version, compress ? (byte)0x01 : (byte)0, streamId, opcode, payload.Length).Write(frame);
        payload.CopyTo(frame.AsSpan(CqlFrameHeader.Size));
        return frame;
    }

    private async Task WriteFrameAsync(Session session, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _bytesSent, frame.Length);
        await session.WriteLock.WaitAsync(cancellationToken);
        try
        {
            await session.Stream.WriteAsync(frame, cancellationToken);
            await session.Stream.FlushAsync(cancellationToken);
        }
        finally
        {
            session.WriteLock.Release();
        }
    }

    // The protocol's lz4 body: the uncompressed length as a big-endian int, then one LZ4 block.
    private static byte[] Lz4Compress(ReadOnlySpan<byte> body)
    {
        var block = new byte[K4os.Compression.LZ4.LZ4Codec.MaximumOutputSize(body.Length)];
        var written = K4os.Compression.LZ4.LZ4Codec.Encode(body, block);
        var payload = new byte[4 + written];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(payload, body.Length);
        block.AsSpan(0, written).CopyTo(payload.AsSpan(4));
        return payload;
    }

    private static byte[] Lz4Decompress(byte[] payload)
    {
        var plain = new byte[System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(payload)];
        if (plain.Length > 0 && K4os.Compression.LZ4.LZ4Codec.Decode(payload.AsSpan(4), plain) != plain.Length)
        {
            throw new IOException("A compressed frame did not decode to its stated length.");
        }

        return plain;
    }

    private void OnSchemaChanged(string change, string target, string keyspace, string? table) =>
        _ = PushEventAsync("SCHEMA_CHANGE", body =>
        {
            body.WriteString(change);
            body.WriteString(target);
            body.WriteString(keyspace);
            if (table is not null)
            {
                body.WriteString(table);
            }
        });

    private (CqlOpcode, CqlWriteBuffer) Handle(Session session, CqlOpcode opcode, byte[] body)
    {
        try
        {
            return opcode switch
            {
                CqlOpcode.Options => (CqlOpcode.Supported, Supported()),
                CqlOpcode.Startup => Startup(session, body),
                CqlOpcode.AuthResponse => AuthResponse(session, body),
                CqlOpcode.Register => Register(session, body),
                _ when !session.Ready => (CqlOpcode.Error, Error(0x000A, "STARTUP (and authentication) must come first")),
                CqlOpcode.Query => Query(session, body),
                CqlOpcode.Prepare => Prepare(session, body),
                CqlOpcode.Execute => Execute(session, body),
                CqlOpcode.Batch => Batch(session, body),
                _ => (CqlOpcode.Error, Error(0x000A, $"Unsupported opcode {opcode}")),
            };
        }
        catch (CqlTestError error)
        {
            return (CqlOpcode.Error, Error(error.Code, error.Message, error.WriteExtra));
        }
    }

    private CqlWriteBuffer Supported()
    {
        var body = new CqlWriteBuffer();
        body.WriteShort(2);
        body.WriteString("CQL_VERSION");
        body.WriteStringList(["3.4.5"]);
        body.WriteString("COMPRESSION");
        body.WriteStringList(OfferCompression ? ["lz4"] : []);
        return body;
    }

    private static (CqlOpcode, CqlWriteBuffer) Register(Session session, byte[] body)
    {
        var reader = new CqlReadBuffer(body);
        foreach (var type in reader.ReadStringList())
        {
            if (type is not ("TOPOLOGY_CHANGE" or "STATUS_CHANGE" or "SCHEMA_CHANGE"))
            {
                throw new CqlTestError(0x000A, $"Invalid value '{type}' for Type");
            }

            session.Events[type] = 0;
        }

        return (CqlOpcode.Ready, new CqlWriteBuffer());
    }

    private (CqlOpcode, CqlWriteBuffer) Startup(Session session, byte[] body)
    {
        var reader = new CqlReadBuffer(body);
        var options = reader.ReadStringMap();
        if (!options.ContainsKey("CQL_VERSION"))
        {
            throw new CqlTestError(0x000A, "STARTUP needs CQL_VERSION");
        }

        if (options.TryGetValue("COMPRESSION", out var compression))
        {
            if (compression != "lz4" || !OfferCompression)
            {
                throw new CqlTestError(0x000A, $"Unknown compression algorithm: {compression}");
            }

            // From here on every frame is compressed both ways, this STARTUP's answer included.
            session.Compressed = true;
        }

        if (Credentials is null)
        {
            session.Ready = true;
            return (CqlOpcode.Ready, new CqlWriteBuffer());
        }

        var authenticate = new CqlWriteBuffer();
        authenticate.WriteString(Authenticator);
        return (CqlOpcode.Authenticate, authenticate);
    }

    private (CqlOpcode, CqlWriteBuffer) AuthResponse(Session session, byte[] body)
    {
        var reader = new CqlReadBuffer(body);
        var token = reader.ReadBytes() ?? [];
        var parts = Encoding.UTF8.GetString(token).Split('\0');
        if (Credentials is not { } expected || parts.Length != 3 || parts[1] != expected.User || parts[2] != expected.Password)
        {
            throw new CqlTestError(0x0100, "Provided username and/or password are incorrect");
        }

        session.Ready = true;
        var success = new CqlWriteBuffer();
        success.WriteInt(-1);
        return (CqlOpcode.AuthSuccess, success);
    }

    private (CqlOpcode, CqlWriteBuffer) Query(Session session, byte[] body)
    {
        var reader = new CqlReadBuffer(body);
        var cql = reader.ReadLongString();
        var parameters = QueryParameters.Read(ref reader);
        ReceivedCql.Enqueue(cql);
        ExecutedCql.Enqueue(cql);
        ConsistencyOf[cql] = parameters.Consistency;
        if (parameters.SerialConsistency is { } serial)
        {
            SerialConsistencyOf[cql] = serial;
        }

        var statement = CqlTestStatement.Parse(cql, session.Keyspace, Database);
        CountStatement(statement);
        InjectFault(cql, () => Run(session, statement, parameters, includeMetadata: true));
        return (CqlOpcode.Result, Run(session, statement, parameters, includeMetadata: true));
    }

    private (CqlOpcode, CqlWriteBuffer) Prepare(Session session, byte[] body)
    {
        var reader = new CqlReadBuffer(body);
        var cql = reader.ReadLongString();
        ReceivedCql.Enqueue(cql);
        var statement = CqlTestStatement.Parse(cql, session.Keyspace, Database);
        var id = MD5.HashData(Encoding.UTF8.GetBytes((session.Keyspace ?? string.Empty) + "|" + cql));
        _prepared[Convert.ToHexString(id)] = statement;

        var result = new CqlWriteBuffer();
        result.WriteInt(0x0004);
        result.WriteShortBytes(id);
        var variables = statement.Variables(Database);
        result.WriteInt(variables.Count > 0 ? 0x0001 : 0);
        result.WriteInt(variables.Count);
        var partitionKeys = statement.PartitionKeyIndexes(Database);
        result.WriteInt(partitionKeys.Count);
        foreach (var index in partitionKeys)
        {
            result.WriteShort((ushort)index);
        }

        if (variables.Count > 0)
        {
            result.WriteString(statement.Keyspace);
            result.WriteString(statement.Table);
        }

        foreach (var (name, type) in variables)
        {
            result.WriteString(name);
            type.Write(result);
        }

        var columns = statement.ResultColumns(Database);
        if (columns is null)
        {
            result.WriteInt(0x0004);
            result.WriteInt(0);
        }
        else
        {
            WriteRowsMetadata(result, statement, columns, pagingState: null, includeMetadata: true);
        }

        return (CqlOpcode.Result, result);
    }

    private (CqlOpcode, CqlWriteBuffer) Execute(Session session, byte[] body)
    {
        var reader = new CqlReadBuffer(body);
        var id = reader.ReadShortBytes();
        var parameters = QueryParameters.Read(ref reader);
        if (!_prepared.TryGetValue(Convert.ToHexString(id), out var statement))
        {
            throw new CqlTestError(0x2500, $"Prepared query with ID {Convert.ToHexString(id)} not found", w => w.WriteShortBytes(id));
        }

        ReceivedCql.Enqueue(statement.Cql);
        ExecutedCql.Enqueue(statement.Cql);
        ConsistencyOf[statement.Cql] = parameters.Consistency;
        if (parameters.SerialConsistency is { } serial)
        {
            SerialConsistencyOf[statement.Cql] = serial;
        }

        InjectFault(statement.Cql, () => Run(session, statement, parameters, includeMetadata: !parameters.SkipMetadata));
        CountStatement(statement);
        return (CqlOpcode.Result, Run(session, statement, parameters, includeMetadata: !parameters.SkipMetadata));
    }

    private (CqlOpcode, CqlWriteBuffer) Batch(Session session, byte[] body)
    {
        var reader = new CqlReadBuffer(body);
        reader.ReadByte();
        var count = reader.ReadShort();
        var work = new List<(CqlTestStatement, List<byte[]?>)>();
        for (var i = 0; i < count; i++)
        {
            CqlTestStatement statement;
            if (reader.ReadByte() == 0)
            {
                statement = CqlTestStatement.Parse(reader.ReadLongString(), session.Keyspace, Database);
            }
            else
            {
                var id = reader.ReadShortBytes();
                statement = _prepared.TryGetValue(Convert.ToHexString(id), out var known)
                    ? known
                    : throw new CqlTestError(0x2500, "Prepared query not found", w => w.WriteShortBytes(id));
            }

            var values = new List<byte[]?>();
            var valueCount = reader.ReadShort();
            for (var v = 0; v < valueCount; v++)
            {
                values.Add(reader.ReadBytes());
            }

            work.Add((statement, values));
        }

        foreach (var (statement, _) in work)
        {
            InjectFault(statement.Cql, () => null);
        }

        CountStatement(work[0].Item1);

        foreach (var (statement, values) in work)
        {
            Run(session, statement, new QueryParameters { Values = values }, includeMetadata: true);
        }

        var result = new CqlWriteBuffer();
        result.WriteInt(0x0001);
        return (CqlOpcode.Result, result);
    }

    private void CountStatement(CqlTestStatement statement)
    {
        if (!statement.IsSystem)
        {
            Interlocked.Increment(ref _statements);
        }
    }

    private void InjectFault(string cql, Func<object?> run)
    {
        if (_faults.TryPeek(out var fault) && fault.Matches(cql) && _faults.TryDequeue(out fault))
        {
            if (fault.ApplyFirst)
            {
                run();
            }

            throw fault.Code switch
            {
                0x1000 => new CqlTestError(0x1000, "Cannot achieve consistency level LOCAL_QUORUM", w =>
                {
                    w.WriteShort(0x0006);
                    w.WriteInt(2);
                    w.WriteInt(1);
                }),
                0x1100 => new CqlTestError(0x1100, "Operation timed out - received only 1 responses.", w =>
                {
                    w.WriteShort(0x0006);
                    w.WriteInt(1);
                    w.WriteInt(2);
                    w.WriteString("SIMPLE");
                }),
                0x1200 => new CqlTestError(0x1200, "Operation timed out - received only 1 responses.", w =>
                {
                    w.WriteShort(0x0006);
                    w.WriteInt(1);
                    w.WriteInt(2);
                    w.WriteByte(0);
                }),
                _ => new CqlTestError(fault.Code, $"Injected error 0x{fault.Code:X4}"),
            };
        }
    }

    private CqlWriteBuffer Run(Session session, CqlTestStatement statement, QueryParameters parameters, bool includeMetadata)
    {
        var result = new CqlWriteBuffer();
        switch (statement.Kind)
        {
            case CqlTestStatementKind.Use:
                session.Keyspace = statement.Keyspace;
                result.WriteInt(0x0003);
                result.WriteString(statement.Keyspace);
                return result;
            case CqlTestStatementKind.CreateKeyspace or CqlTestStatementKind.CreateTable:
            {
                var created = Database.Apply(statement);
                if (!created)
                {
                    result.WriteInt(0x0001);
                    return result;
                }

                result.WriteInt(0x0005);
                result.WriteString("CREATED");
                result.WriteString(statement.Kind == CqlTestStatementKind.CreateKeyspace ? "KEYSPACE" : "TABLE");
                result.WriteString(statement.Keyspace);
                if (statement.Kind == CqlTestStatementKind.CreateTable)
                {
                    result.WriteString(statement.Table);
                }

                return result;
            }

            case CqlTestStatementKind.Insert:
            {
                var (applied, token, current) = Database.Insert(statement, parameters.Values, parameters.Timestamp);
                if (!Database.Ring.ReplicasOf(token, Database.ReplicationOf(statement.Keyspace)).Contains(Node))
                {
                    Interlocked.Increment(ref _writesForOtherNodes);
                }

                if (!statement.IfNotExists)
                {
                    result.WriteInt(0x0001);
                    return result;
                }

                // Not applied: the existing row comes back, every column of it.
                WriteCasResult(result, statement, applied, current, Database.Table(statement.Keyspace, statement.Table).Columns.Select(c => c.Name));
                return result;
            }

            case CqlTestStatementKind.Update or CqlTestStatementKind.Delete:
            {
                var (applied, current) = statement.Kind == CqlTestStatementKind.Update
                    ? Database.Update(statement, parameters.Values, parameters.Timestamp)
                    : Database.Delete(statement, parameters.Values, parameters.Timestamp);
                if (!statement.IsConditional)
                {
                    result.WriteInt(0x0001);
                    return result;
                }

                // Not applied: the columns of the conditions come back, as they are now (nothing when the row is absent).
                WriteCasResult(result, statement, applied, current, statement.IfConditions.Distinct());
                return result;
            }

            case CqlTestStatementKind.AlterTableAdd:
                Database.AddColumn(statement);
                result.WriteInt(0x0005);
                result.WriteString("UPDATED");
                result.WriteString("TABLE");
                result.WriteString(statement.Keyspace);
                result.WriteString(statement.Table);
                return result;

            case CqlTestStatementKind.Select:
            {
                var columns = statement.ResultColumns(Database)!;
                var (rows, pagingState) = statement.IsSystem
                    ? (SystemRows(statement, parameters.Values), null)
                    : Database.Select(statement, parameters.Values, parameters.PageSize, parameters.PagingState);
                result.WriteInt(0x0002);
                WriteRowsMetadata(result, statement, columns, pagingState, includeMetadata);
                result.WriteInt(rows.Count);
                foreach (var row in rows)
                {
                    foreach (var (name, _) in columns)
                    {
                        if (row.TryGetValue(name, out var value) && value is not null)
                        {
                            result.WriteBytes(value);
                        }
                        else
                        {
                            result.WriteInt(-1);
                        }
                    }
                }

                return result;
            }

            default:
                throw new CqlTestError(0x2200, $"Unsupported statement: {statement.Cql}");
        }
    }

    private static void WriteRowsMetadata(CqlWriteBuffer result, CqlTestStatement statement, IReadOnlyList<(string Name, CqlDataType Type)> columns, byte[]? pagingState, bool includeMetadata)
    {
        var flags = (includeMetadata ? 0x0001 : 0x0004) | (pagingState is null ? 0 : 0x0002);
        result.WriteInt(flags);
        result.WriteInt(columns.Count);
        if (pagingState is not null)
        {
            result.WriteBytes(pagingState);
        }

        if (!includeMetadata)
        {
            return;
        }

        result.WriteString(statement.Keyspace);
        result.WriteString(statement.Table);
        foreach (var (name, type) in columns)
        {
            result.WriteString(name);
            type.Write(result);
        }
    }

    /// <summary>
    /// The result of a lightweight transaction: an [applied] boolean column, then, when not applied and the row exists,
    /// the given columns of the row as it is now (Cassandra's shape).
    /// </summary>
    private void WriteCasResult(CqlWriteBuffer result, CqlTestStatement statement, bool applied, Dictionary<string, byte[]?>? current, IEnumerable<string> columns)
    {
        var table = Database.Table(statement.Keyspace, statement.Table);
        var shown = applied || current is null ? [] : columns.Select(table.Column).ToList();
        result.WriteInt(0x0002);
        result.WriteInt(0x0001);
        result.WriteInt(1 + shown.Count);
        result.WriteString(statement.Keyspace);
        result.WriteString(statement.Table);
        result.WriteString("[applied]");
        CqlDataType.Boolean.Write(result);
        foreach (var (name, type) in shown)
        {
            result.WriteString(name);
            type.Write(result);
        }

        result.WriteInt(1);
        result.WriteInt(1);
        result.WriteByte(applied ? (byte)1 : (byte)0);
        foreach (var (name, _) in shown)
        {
            if (current!.GetValueOrDefault(name) is { } value)
            {
                result.WriteBytes(value);
            }
            else
            {
                result.WriteInt(-1);
            }
        }
    }

    private List<Dictionary<string, byte[]?>> SystemRows(CqlTestStatement statement, IReadOnlyList<byte[]?> bound)
    {
        if (statement is { Keyspace: "system_schema", Table: "columns" })
        {
            var values = statement.Values(bound);
            string? Condition(string column)
            {
                var index = statement.Conditions.FindIndex(c => c.Column == column);
                return index < 0 || values[index] is not { } value ? null : Encoding.UTF8.GetString(value);
            }

            return Condition("keyspace_name") is { } keyspace && Condition("table_name") is { } table ? Database.SchemaColumns(keyspace, table) : [];
        }

        var schemaVersion = Database.SchemaVersion.ToByteArray(bigEndian: true);
        var me = Node;
        switch (statement.Table)
        {
            case "local":
                return
                [
                    new Dictionary<string, byte[]?>
                    {
                        ["key"] = Encoding.UTF8.GetBytes("local"),
                        ["bootstrapped"] = Encoding.UTF8.GetBytes("COMPLETED"),
                        ["broadcast_address"] = me.Address.GetAddressBytes(),
                        ["listen_address"] = me.Address.GetAddressBytes(),
                        ["rpc_address"] = me.Address.GetAddressBytes(),
                        ["cluster_name"] = Encoding.UTF8.GetBytes("Test Cluster"),
                        ["cql_version"] = Encoding.UTF8.GetBytes("3.4.5"),
                        ["data_center"] = Encoding.UTF8.GetBytes(me.DataCenter),
                        ["rack"] = Encoding.UTF8.GetBytes(me.Rack),
                        ["host_id"] = me.HostId.ToByteArray(bigEndian: true),
                        ["partitioner"] = Encoding.UTF8.GetBytes("org.apache.cassandra.dht.Murmur3Partitioner"),
                        ["release_version"] = Encoding.UTF8.GetBytes("4.1.0"),
                        ["native_protocol_version"] = Encoding.UTF8.GetBytes("4"),
                        ["schema_version"] = schemaVersion,
                        ["tokens"] = TextSet(me.Token.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    },
                ];
            case "peers" or "peers_v2":
                // Every other node of the ring, up or down (as Cassandra lists them); v2 adds the ports.
                return Database.Ring.Nodes.Where(n => n.InRing && n.Index != NodeIndex).Select(n => new Dictionary<string, byte[]?>
                {
                    ["peer"] = n.Address.GetAddressBytes(),
                    ["peer_port"] = Int(7000),
                    ["rpc_address"] = n.Address.GetAddressBytes(),
                    ["native_address"] = n.Address.GetAddressBytes(),
                    ["native_port"] = Int(n.Port),
                    ["preferred_ip"] = null,
                    ["preferred_port"] = null,
                    ["data_center"] = Encoding.UTF8.GetBytes(n.DataCenter),
                    ["rack"] = Encoding.UTF8.GetBytes(n.Rack),
                    ["host_id"] = n.HostId.ToByteArray(bigEndian: true),
                    ["release_version"] = Encoding.UTF8.GetBytes("4.1.0"),
                    ["schema_version"] = schemaVersion,
                    ["tokens"] = TextSet(n.Token.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                }).ToList();
            case "keyspaces":
                return Database.Keyspaces().Select(k => new Dictionary<string, byte[]?>
                {
                    ["keyspace_name"] = Encoding.UTF8.GetBytes(k.Name),
                    ["durable_writes"] = [1],
                    ["replication"] = TextMap(k.Replication),
                }).ToList();
            default:
                throw new CqlTestError(0x2200, $"unconfigured table {statement.Table}");
        }
    }

    private static byte[] Int(int value)
    {
        var bytes = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] TextMap(IReadOnlyDictionary<string, string> map)
    {
        var buffer = new CqlWriteBuffer();
        buffer.WriteInt(map.Count);
        foreach (var (key, value) in map)
        {
            buffer.WriteLongString(key);
            buffer.WriteLongString(value);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] TextSet(string item)
    {
        var buffer = new CqlWriteBuffer();
        buffer.WriteInt(1);
        buffer.WriteLongString(item);
        return buffer.WrittenSpan.ToArray();
    }

    private static CqlWriteBuffer Error(int code, string message, Action<CqlWriteBuffer>? extra = null)
    {
        var body = new CqlWriteBuffer();
        body.WriteInt(code);
        body.WriteString(message);
        extra?.Invoke(body);
        return body;
    }

    private sealed class Session
    {
        public required Stream Stream { get; set; }

        public SemaphoreSlim WriteLock { get; } = new(1, 1);

        /// <summary>Whether lz4 was agreed in STARTUP.</summary>
        public bool Compressed { get; set; }

        /// <summary>The event types the connection REGISTERed for.</summary>
        public ConcurrentDictionary<string, byte> Events { get; } = new(StringComparer.Ordinal);

        public bool Ready { get; set; }

        public string? Keyspace { get; set; }
    }

    private sealed class QueryParameters
    {
        public List<byte[]?> Values { get; init; } = [];

        public CassandraConsistency Consistency { get; private init; }

        public bool SkipMetadata { get; private init; }

        public int? PageSize { get; private init; }

        public byte[]? PagingState { get; private init; }

        public CassandraConsistency? SerialConsistency { get; private init; }

        /// <summary>The client's write timestamp (microseconds), if it sent one.</summary>
        public long? Timestamp { get; private init; }

        public static QueryParameters Read(ref CqlReadBuffer reader)
        {
            var consistency = (CassandraConsistency)reader.ReadShort();
            var flags = reader.ReadByte();
            var values = new List<byte[]?>();
            if ((flags & 0x01) != 0)
            {
                var count = reader.ReadShort();
                for (var i = 0; i < count; i++)
                {
                    if ((flags & 0x40) != 0)
                    {
                        reader.ReadString();
                    }

                    var length = reader.ReadInt();
                    values.Add(length == -2 ? CqlTestDatabase.Unset : length < 0 ? null : reader.ReadRaw(length).ToArray());
                }
            }

            int? pageSize = (flags & 0x04) != 0 ? reader.ReadInt() : null;
            var pagingState = (flags & 0x08) != 0 ? reader.ReadBytes() : null;
            CassandraConsistency? serial = (flags & 0x10) != 0 ? (CassandraConsistency)reader.ReadShort() : null;
            long? timestamp = (flags & 0x20) != 0 ? reader.ReadLong() : null;
            return new QueryParameters { Consistency = consistency, Values = values, SkipMetadata = (flags & 0x02) != 0, PageSize = pageSize, PagingState = pagingState, SerialConsistency = serial, Timestamp = timestamp };
        }
    }
}

/// <summary>How a <see cref="CqlServerMock"/> node misbehaves once a connection is ready.</summary>
public enum CqlHostility
{
    /// <summary>Behaves.</summary>
    None,

    /// <summary>Answers every statement with random bytes.</summary>
    AnswerGarbage,

    /// <summary>Stops reading requests: a stalled node whose socket buffers fill up.</summary>
    StopReading,

    /// <summary>Sends half of the answer to a statement, then closes the connection.</summary>
    CloseMidFrame,
}

/// <summary>An ERROR the test server answers with.</summary>
internal sealed class CqlTestError(int code, string message, Action<CqlWriteBuffer>? writeExtra = null) : Exception(message)
{
    public int Code { get; } = code;

    public Action<CqlWriteBuffer>? WriteExtra { get; } = writeExtra;
}
