namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Fans published events out to in-process subscribers, in publish order: for monoliths, samples and tests.
/// A subscriber that throws fails the publish (so the caller learns of it); other subscribers still ran.
/// Publishes are delivered one at a time, in the order they were called, even when callers pipeline them.
/// </summary>
public sealed class InMemoryEventPublisher : IEventPublisher, IDisposable
{
    // SemaphoreSlim queues waiters first in, first out, so pipelined publishes keep their call order.
    private readonly SemaphoreSlim _turn = new(1, 1);
    private volatile Func<RecordedEvent, CancellationToken, ValueTask>[] _subscribers = [];
    private readonly object _gate = new();

    /// <summary>The number of events published so far.</summary>
    public long PublishedCount => Interlocked.Read(ref _publishedCount);

    private long _publishedCount;

    /// <summary>Calls <paramref name="handler"/> for every event published from now on, until the returned handle is disposed.</summary>
    public IDisposable Subscribe(Func<RecordedEvent, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
        {
            _subscribers = [.. _subscribers, handler];
        }

        return new Subscription(this, handler);
    }

    /// <inheritdoc />
    public async ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<Exception>? failures = null;
        try
        {
            foreach (var subscriber in _subscribers)
            {
                try
                {
                    await subscriber(recordedEvent, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    (failures ??= []).Add(ex);
                }
            }
        }
        finally
        {
            _turn.Release();
        }

        if (failures is not null)
        {
            throw failures.Count == 1 ? failures[0] : new AggregateException("Several subscribers failed.", failures);
        }

        Interlocked.Increment(ref _publishedCount); // a failed publish is tried again: count it once, when it succeeds
    }

    /// <summary>Releases the delivery lock.</summary>
    public void Dispose() => _turn.Dispose();

    private void Unsubscribe(Func<RecordedEvent, CancellationToken, ValueTask> handler)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => s != handler)];
        }
    }

    private sealed class Subscription(InMemoryEventPublisher owner, Func<RecordedEvent, CancellationToken, ValueTask> handler) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unsubscribe(handler);
            }
        }
    }
}
