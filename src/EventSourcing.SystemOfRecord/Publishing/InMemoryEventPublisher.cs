namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Fans published events out to in-process subscribers, in publish order: for monoliths, samples and tests.
/// A subscriber that throws fails the publish (so the caller learns of it); other subscribers still ran.
/// </summary>
public sealed class InMemoryEventPublisher : IEventPublisher
{
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
        cancellationToken.ThrowIfCancellationRequested();
        List<Exception>? failures = null;
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

        Interlocked.Increment(ref _publishedCount);
        if (failures is not null)
        {
            throw failures.Count == 1 ? failures[0] : new AggregateException("Several subscribers failed.", failures);
        }
    }

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
