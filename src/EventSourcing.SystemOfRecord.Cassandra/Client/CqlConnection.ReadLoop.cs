using System.Net.Sockets;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlConnection
{
    private const int ReadBufferSize = 64 * 1024;

    private void StartReadLoop() => _readLoop = Task.Run(ReadLoopAsync);

    /// <summary>Reads frames until the connection breaks, handing each response to the request with its stream id.</summary>
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
                    if (header.Version != CqlFrameHeader.ResponseVersion)
                    {
                        throw new CassandraProtocolException($"{Endpoint} answered with protocol version byte 0x{header.Version:X2}; this client speaks v4 (0x84).");
                    }

                    if (header.Length is < 0 or > CqlFrameHeader.MaxBodyLength)
                    {
                        throw new CassandraProtocolException($"{Endpoint} sent a frame body of {header.Length} bytes.");
                    }

                    var frameLength = CqlFrameHeader.Size + header.Length;
                    if (end - start < frameLength)
                    {
                        if (frameLength > buffer.Length)
                        {
                            var larger = new byte[Math.Max(frameLength, buffer.Length * 2)];
                            buffer.AsSpan(start, end - start).CopyTo(larger);
                            buffer = larger;
                            end -= start;
                            start = 0;
                        }

                        break;
                    }

                    Dispatch(header, buffer.AsSpan(start + CqlFrameHeader.Size, header.Length));
                    start += frameLength;
                }

                if (start == end)
                {
                    start = end = 0;
                }
                else if (start > 0 && buffer.Length - end < CqlFrameHeader.Size)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }

                var read = await _stream.ReadAsync(buffer.AsMemory(end), _shutdown.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new CassandraConnectionException($"{Endpoint} closed the connection.");
                }

                end += read;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or CassandraException)
        {
            Break(ex);
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

        try
        {
            var response = CqlResponse.Parse(header, body, pending.KnownMetadata);
            foreach (var warning in response.Warnings)
            {
                Log.ServerWarning(_logger, Endpoint, warning);
            }

            pending.Completion.TrySetResult(response);
        }
        catch (CassandraProtocolException ex)
        {
            // The frame was consumed whole, so the stream stays in step: only this request fails.
            pending.Completion.TrySetException(ex);
        }
    }
}
