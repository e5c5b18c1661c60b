using System.Net.Sockets;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// One connection to one node. Many requests are in flight at once, each on its own stream id; a read loop owned
/// by the connection matches responses to requests by stream id. Any I/O or framing failure goes through
/// <see cref="Break"/>, which fails every pending request and closes the socket; a broken connection is not reused.
/// </summary>
internal sealed partial class CqlConnection : IAsyncDisposable
{
    /// <summary>Stream ids in use at most (the spec allows 32768 in v4).</summary>
    internal const int MaxStreams = 1024;

    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _slots = new(MaxStreams, MaxStreams);
    private readonly PendingRequest?[] _pending = new PendingRequest?[MaxStreams];
    private readonly Stack<short> _freeStreams = new(MaxStreams);
    private readonly CancellationTokenSource _shutdown = new();
    private Task _readLoop = Task.CompletedTask;
    private Exception? _breakReason;
    private int _abandoned;

    private CqlConnection(TcpClient client, Stream stream, string endpoint, ILogger logger)
    {
        _client = client;
        _stream = stream;
        _logger = logger;
        Endpoint = endpoint;
        for (var id = MaxStreams - 1; id >= 0; id--)
        {
            _freeStreams.Push((short)id);
        }
    }

    /// <summary>Raised once when the connection breaks (not when it is disposed on purpose).</summary>
    public event Action<CqlConnection, Exception>? Broken;

    /// <summary>host:port of the node.</summary>
    public string Endpoint { get; }

    public bool IsBroken => Volatile.Read(ref _breakReason) is not null;

    /// <summary>
    /// Sends a request and waits for its response. An ERROR response is thrown as its typed <see cref="CassandraException"/>.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="knownMetadata">Decodes rows the server sends without metadata.</param>
    /// <param name="timeout">How long to wait for the response.</param>
    /// <param name="cancellationToken">Cancels the wait; the request may still run on the server.</param>
    public async Task<CqlResponse> SendAsync(CqlRequest request, CqlResultMetadata? knownMetadata, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ThrowIfBroken();
        var frame = request.ToFrame();
        if (!await _slots.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw new CassandraConnectionException($"All {MaxStreams} stream ids to {Endpoint} stayed busy for {timeout}.");
        }

        var pending = new PendingRequest(knownMetadata);
        short stream;
        lock (_pending)
        {
            stream = _freeStreams.Pop();
            _pending[stream] = pending;
        }

        // A break between the check above and the registration must not leave this request waiting forever.
        if (Volatile.Read(ref _breakReason) is { } reason)
        {
            Complete(stream)?.Completion.TrySetException(BrokenError(reason));
        }
        else
        {
            frame.SetStream(stream);
            await WriteFrameAsync(Outgoing(frame)).ConfigureAwait(false);
        }

        CqlResponse response;
        try
        {
            response = await pending.Completion.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            Abandon(pending);
            throw new CassandraConnectionException($"{Endpoint} did not answer a {request.Opcode} request within {timeout}.", ex);
        }
        catch (OperationCanceledException)
        {
            Abandon(pending);
            throw;
        }

        if (response is ErrorResponse error)
        {
            throw error.Exception;
        }

        return response;
    }

    /// <summary>Fails every pending request with <paramref name="reason"/> and closes the socket. Only the first call counts.</summary>
    public void Break(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _breakReason, reason, null) is not null)
        {
            return;
        }

        if (reason is not ObjectDisposedException)
        {
            Log.ConnectionBroken(_logger, reason, Endpoint);
        }

        _shutdown.Cancel();
        try
        {
            _stream.Dispose();
            _client.Dispose();
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // Closing a dead socket may fail; it is closed either way.
        }

        var error = BrokenError(reason);
        List<PendingRequest> failed = [];
        lock (_pending)
        {
            for (var i = 0; i < _pending.Length; i++)
            {
                if (_pending[i] is { } pending)
                {
                    failed.Add(pending);
                }
            }
        }

        foreach (var pending in failed)
        {
            pending.Completion.TrySetException(error);
        }

        if (reason is not ObjectDisposedException)
        {
            Broken?.Invoke(this, reason);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Break(new ObjectDisposedException(nameof(CqlConnection), $"The connection to {Endpoint} was closed."));
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // The read loop ends with the socket.
        }

        _shutdown.Dispose();
    }

    private CassandraConnectionException BrokenError(Exception reason) =>
        reason as CassandraConnectionException ?? new CassandraConnectionException($"The connection to {Endpoint} broke: {reason.Message}", reason);

    private void ThrowIfBroken()
    {
        if (Volatile.Read(ref _breakReason) is { } reason)
        {
            throw BrokenError(reason);
        }
    }

    private async Task WriteFrameAsync(CqlWriteBuffer frame)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(frame.WrittenMemory, _shutdown.Token).ConfigureAwait(false);
            await _stream.FlushAsync(_shutdown.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Break(ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Frees the stream id of a request answered or failed; null when it was already freed.</summary>
    private PendingRequest? Complete(short stream)
    {
        PendingRequest? pending;
        lock (_pending)
        {
            pending = _pending[stream];
            if (pending is null)
            {
                return null;
            }

            _pending[stream] = null;
            _freeStreams.Push(stream);
        }

        if (pending.Abandoned)
        {
            Interlocked.Decrement(ref _abandoned);
        }

        _slots.Release();
        return pending;
    }

    // A request that timed out keeps its stream id until its late response arrives: reusing the id earlier could
    // hand that response to another request. When half the ids wait like that, the node is not answering: break.
    private void Abandon(PendingRequest pending)
    {
        lock (_pending)
        {
            if (Array.IndexOf(_pending, pending) < 0)
            {
                return;
            }

            pending.Abandoned = true;
        }

        if (Interlocked.Increment(ref _abandoned) > MaxStreams / 2)
        {
            Break(new CassandraConnectionException($"{Endpoint} left more than {MaxStreams / 2} requests unanswered."));
        }
    }

    private sealed class PendingRequest(CqlResultMetadata? knownMetadata)
    {
        public TaskCompletionSource<CqlResponse> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CqlResultMetadata? KnownMetadata { get; } = knownMetadata;

        public bool Abandoned { get; set; }
    }
}
