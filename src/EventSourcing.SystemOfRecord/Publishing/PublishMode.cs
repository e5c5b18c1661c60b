namespace EventSourcing.SystemOfRecord;

/// <summary>When an append returns, relative to the publish of its event.</summary>
public enum PublishMode
{
    /// <summary>
    /// <c>AppendAsync</c> returns once the store committed the event and the publisher acknowledged it. Appends share
    /// the publish pipeline's batches, so many concurrent appends cost little more than one.
    /// </summary>
    Acknowledged = 0,

    /// <summary>
    /// <c>AppendAsync</c> returns once the store committed the event; the publish pipeline publishes it moments later
    /// (watch the publish lag). <c>WhenPublishedAsync</c> waits for one event's acknowledgement.
    /// </summary>
    Committed = 1,
}
