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
    private readonly int _maxBodyLength;
    private Task _readLoop = Task.CompletedTask;
    private Exception? _breakReason;
    private int _abandoned;

    private CqlConnection(TcpClient client, Stream stream, string endpoint, int maxBodyLength, ILogger logger)
    {
        _client = client;
        _maxBodyLength = maxBodyLength;
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
    /// Sends a request and waits for its response, all within <paramref name="timeout"/>: a free stream id, the write
    /// lock, the socket write and the answer. An ERROR response is thrown as its typed <see cref="CassandraException"/>.
    /// A write that does not finish in time (the node stopped reading) breaks the connection: part of the frame may be
    /// on the wire, so nothing more can be sent on it.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="knownMetadata">Decodes rows the server sends without metadata.</param>
    /// <param name="timeout">How long the whole exchange may take.</param>
    /// <param name="cancellationToken">Cancels the exchange; a request already sent may still run on the server.</param>
    public async Task<CqlResponse> SendAsync(CqlRequest request, CqlResultMetadata? knownMetadata, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ThrowIfBroken();
        var frame = request.ToFrame();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await _slots.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
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
        var sent = WriteOutcome.NotSent;
        if (Volatile.Read(ref _breakReason) is { } reason)
        {
            Complete(stream)?.Completion.TrySetException(BrokenError(reason));
        }
        else
        {
            frame.SetStream(stream);
            sent = await WriteFrameAsync(Outgoing(frame), request.Opcode, timeout, deadline.Token).ConfigureAwait(false);
            if (sent == WriteOutcome.NotSent)
            {
                // Nothing was sent: the write lock stayed taken (by a write that breaks the connection when it times out).
                Complete(stream);
                cancellationToken.ThrowIfCancellationRequested();
                throw new CassandraConnectionException($"The connection to {Endpoint} stayed busy sending other requests for {timeout}.");
            }
        }

        CqlResponse response;
        try
        {
            response = await pending.Completion.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            Abandon(pending);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new CassandraConnectionException($"{Endpoint} did not answer a {request.Opcode} request within {timeout}.", ex)
            {
                MayHaveBeenApplied = sent == WriteOutcome.Sent,
            };
        }
        catch (CassandraConnectionException ex) when (sent == WriteOutcome.Sent)
        {
            // The connection broke after the whole request went out: the node may have run it.
            throw new CassandraConnectionException(ex.Message, ex.InnerException) { MayHaveBeenApplied = true };
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

    /// <summary>
    /// Writes a frame once the write lock is free. A write that fails or does not finish in time breaks the connection,
    /// and the request fails with it; the node cannot run a frame it did not receive whole.
    /// </summary>
    private async Task<WriteOutcome> WriteFrameAsync(CqlWriteBuffer frame, CqlOpcode opcode, TimeSpan timeout, CancellationToken token)
    {
        try
        {
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return WriteOutcome.NotSent;
        }

        try
        {
            await _stream.WriteAsync(frame.WrittenMemory, token).ConfigureAwait(false);
            await _stream.FlushAsync(token).ConfigureAwait(false);
            return WriteOutcome.Sent;
        }
        catch (Exception ex)
        {
            Break(ex is OperationCanceledException
                ? new CassandraConnectionException($"{Endpoint} did not take a {opcode} request within {timeout} (it may have stopped reading), or the caller gave up mid-write.", ex)
                : ex);
        }
        finally
        {
            _writeLock.Release();
        }

        return WriteOutcome.Failed;
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

    private enum WriteOutcome
    {
        /// <summary>The write lock was never free: nothing went out.</summary>
        NotSent,

        /// <summary>The whole frame went out.</summary>
        Sent,

        /// <summary>Part of the frame may have gone out; the connection is broken.</summary>
        Failed,
    }

    private sealed class PendingRequest(CqlResultMetadata? knownMetadata)
    {
        public TaskCompletionSource<CqlResponse> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CqlResultMetadata? KnownMetadata { get; } = knownMetadata;

        public bool Abandoned { get; set; }
    }
}
