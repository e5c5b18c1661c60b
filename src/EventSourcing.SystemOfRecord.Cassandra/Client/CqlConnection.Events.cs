using System.Net;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlConnection
{
    /// <summary>
    /// Raised for each EVENT the node pushes (only after <see cref="RegisterAsync"/>), on the read loop: a handler must
    /// return quickly and never throw.
    /// </summary>
    public event Action<EventResponse>? EventReceived;

    /// <summary>The node's address and port as the socket sees them.</summary>
    public IPEndPoint? RemoteEndPoint => _client.Client?.RemoteEndPoint as IPEndPoint;

    /// <summary>Asks the node to push the given event types on this connection (REGISTER, answered with READY).</summary>
    public async Task RegisterAsync(IReadOnlyCollection<string> eventTypes, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var response = await SendAsync(new RegisterRequest(eventTypes), null, timeout, cancellationToken).ConfigureAwait(false);
        if (response is not ReadyResponse)
        {
            throw new CassandraProtocolException($"{Endpoint} answered REGISTER with {response.GetType().Name}.");
        }
    }

    // Stream ids below zero are the server's own: -1 carries EVENTs, nothing else.
    private void OnServerPush(CqlFrameHeader header, ReadOnlySpan<byte> body)
    {
        if (header.Opcode != CqlOpcode.Event)
        {
            throw new CassandraProtocolException($"{Endpoint} sent a {header.Opcode} frame on stream {header.Stream}, which only carries events.");
        }

        if (CqlResponse.Parse(header, body) is EventResponse pushed)
        {
            EventReceived?.Invoke(pushed);
        }
    }
}
