using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlConnection
{
    private const int ReadBufferSize = 64 * 1024;

    private void StartReadLoop() => _readLoop = Task.Run(ReadLoopAsync);

    /// <summary>
    /// Reads frames until the connection breaks, handing each response to the request with its stream id. Whatever
    /// goes wrong in here (I/O, framing, a body that does not parse) breaks the connection: the bytes come from the
    /// network and are not trusted, so no failure may leave the connection looking healthy.
    /// </summary>
    private async Task ReadLoopAsync()
    {
        var buffer = new byte[ReadBufferSize];
        var start = 0;
        var end = 0;
        try
        {
            while (true)
            {
                // Hand out every complete frame already buffered.
                while (end - start >= CqlFrameHeader.Size)
                {
                    var header = CqlFrameHeader.Read(buffer.AsSpan(start));
                    CheckHeader(header);
                    var frameLength = CqlFrameHeader.Size + header.Length;
                    if (end - start < frameLength)
                    {
                        break;
                    }

                    Dispatch(header, buffer.AsSpan(start + CqlFrameHeader.Size, header.Length));
                    start += frameLength;
                }

                if (start == end)
                {
                    start = end = 0;
                }
                else if (start > 0 && buffer.Length - end < Math.Max(CqlFrameHeader.Size, buffer.Length / 2))
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }

                if (end == buffer.Length)
                {
                    // A frame larger than the buffer: grow as its bytes arrive, never ahead of them, so a header that
                    // merely declares a large body costs nothing.
                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, CqlFrameHeader.Size + (long)_maxBodyLength));
                }

                var read = await _stream.ReadAsync(buffer.AsMemory(end), _shutdown.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new CassandraConnectionException($"{Endpoint} closed the connection.");
                }

                end += read;
            }
        }
        catch (Exception ex)
        {
            Break(ex is CassandraException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException
                ? ex
                : new CassandraProtocolException($"{Endpoint} sent bytes this client could not read: {ex.Message}", ex));
        }
    }

    private void CheckHeader(CqlFrameHeader header)
    {
        if (header.Version != CqlFrameHeader.ResponseVersion)
        {
            throw new CassandraProtocolException($"{Endpoint} answered with protocol version byte 0x{header.Version:X2}; this client speaks v4 (0x84).");
        }

        if (header.Length < 0)
        {
            throw new CassandraProtocolException($"{Endpoint} sent a frame body of {header.Length} bytes.");
        }

        if (header.Length > _maxBodyLength)
        {
            // Asking again would bring the same frame: the request that gets it fails for good (a page of fewer rows
            // fits), and the connection, which cannot skip the body cheaply, is closed.
            var error = new CassandraProtocolException(
                $"{Endpoint} answered with a frame body of {header.Length} bytes; the limit is {_maxBodyLength}. Read fewer rows per page.")
            {
                OversizedResponseBytes = header.Length,
            };
            if (header.Stream >= 0 && header.Stream < MaxStreams && Complete(header.Stream) is { } pending)
            {
                pending.Completion.TrySetException(error);
            }

            throw error;
        }
    }

    private void Dispatch(CqlFrameHeader header, ReadOnlySpan<byte> body)
    {
        if (Decompressed(ref header, body) is { } plain)
        {
            body = plain;
        }

        if (header.Stream < 0)
        {
            OnServerPush(header, body);
            return;
        }

        if (header.Stream >= MaxStreams || Complete(header.Stream) is not { } pending)
        {
            throw new CassandraProtocolException($"{Endpoint} answered on stream {header.Stream}, which has no request waiting.");
        }

        if (pending.Abandoned)
        {
            return;
        }

        CqlResponse response;
        try
        {
            response = CqlResponse.Parse(header, body, pending.KnownMetadata);
        }
        catch (Exception ex)
        {
            // The request fails for good; the connection breaks, since a node that sends what cannot be read is not trusted.
            var error = ex as CassandraProtocolException
                ?? new CassandraProtocolException($"{Endpoint} sent a {header.Opcode} response this client could not read: {ex.Message}", ex);
            pending.Completion.TrySetException(error);
            throw error;
        }

        foreach (var warning in response.Warnings)
        {
            Log.ServerWarning(_logger, Endpoint, warning);
        }

        pending.Completion.TrySetResult(response);
    }
}
