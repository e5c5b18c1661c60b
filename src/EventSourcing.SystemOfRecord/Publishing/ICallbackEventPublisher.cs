namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The fast path of a publisher that pipelines: it reports each outcome through a callback instead of a task. The
/// publish pipeline prefers it when the publisher offers it: no task per event, and no thread-pool thread is needed to
/// learn an outcome, so callers blocked in <c>Append</c> cannot starve the acknowledgements they wait for.
/// </summary>
public interface ICallbackEventPublisher : IEventPublisher
{
    /// <summary>
    /// Sends the event and returns at once. Calls <see cref="IPublishCallback.OnPublished"/> exactly once, inline or on
    /// the publisher's own thread, when the broker acknowledged the event or it failed (never throws for a failed
    /// publish: reports it through the callback). Calls made one after another keep their order for records of one key.
    /// </summary>
    /// <param name="recordedEvent">The event.</param>
    /// <param name="callback">Told the outcome.</param>
    /// <param name="state">Handed back to <paramref name="callback"/> untouched.</param>
    void Publish(RecordedEvent recordedEvent, IPublishCallback callback, object? state);
}

/// <summary>Told the outcome of one <see cref="ICallbackEventPublisher.Publish"/>.</summary>
public interface IPublishCallback
{
    /// <summary>The publish ended: acknowledged when <paramref name="error"/> is null, failed otherwise. Must return quickly and not throw.</summary>
    /// <param name="state">What the caller passed to <see cref="ICallbackEventPublisher.Publish"/>.</param>
    /// <param name="error">Why it failed (a <see cref="SystemOfRecordException"/> says whether trying again may help), or null.</param>
    void OnPublished(object? state, Exception? error);
}
