using System.Collections.ObjectModel;

namespace EventSourcing.SystemOfRecord;

/// <summary>One event as the system of record holds it. All times are UTC.</summary>
public sealed record RecordedEvent
{
    private static readonly IReadOnlyDictionary<string, string> NoHeaders = ReadOnlyDictionary<string, string>.Empty;

    /// <summary>Creates a recorded event.</summary>
    /// <param name="timeBucket">The start of the time bucket that holds the event.</param>
    /// <param name="eventId">The event id; its timestamp is the event's timestamp.</param>
    /// <param name="topic">The topic the event is published to.</param>
    /// <param name="key">The partitioning key, or <see langword="null"/>.</param>
    /// <param name="message">The payload.</param>
    /// <param name="headers">Headers that travel with the event, or <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="topic"/> or <paramref name="message"/> is null.</exception>
    public RecordedEvent(DateTime timeBucket, TimeUuid eventId, string topic, string? key, string message, IReadOnlyDictionary<string, string>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(message);
        TimeBucket = UtcTime.Normalize(timeBucket, nameof(timeBucket));
        EventId = eventId;
        Topic = topic;
        Key = key;
        Message = message;
        Headers = headers is null || headers.Count == 0 ? NoHeaders : headers;
    }

    /// <summary>The start of the time bucket (UTC, aligned to the Unix epoch) that holds the event.</summary>
    public DateTime TimeBucket { get; }

    /// <summary>The event id: a version-1 time UUID, unique, ordering events within a bucket.</summary>
    public TimeUuid EventId { get; }

    /// <summary>When the event was recorded (UTC, 100 ns precision): the timestamp of <see cref="EventId"/>.</summary>
    public DateTime Timestamp => EventId.GetTimestamp().UtcDateTime;

    /// <summary>The topic the event is published to.</summary>
    public string Topic { get; }

    /// <summary>The partitioning key (events with one key stay in order on one partition), or <see langword="null"/>.</summary>
    public string? Key { get; }

    /// <summary>The payload, usually JSON.</summary>
    public string Message { get; }

    /// <summary>Headers that travel with the event; empty, never <see langword="null"/>.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>
    /// The event's type name (a typed append stores the name its CLR type maps to; published as CloudEvents <c>type</c>),
    /// or <see langword="null"/> for an untyped (string) append.
    /// </summary>
    public string? Type { get; init; }

    /// <summary>The media type of <see cref="Message"/> (<c>application/json</c> for typed JSON events), or <see langword="null"/> when not known.</summary>
    public string? ContentType { get; init; }

    /// <summary>
    /// The name of the application instance that appended the event (<see cref="SystemOfRecordOptions.InstanceName"/>): its
    /// publish pipeline is the one that publishes it. Kept by the store, outside the message; <see langword="null"/> for
    /// events stored before instances were recorded.
    /// </summary>
    public string? Instance { get; init; }

    /// <summary>
    /// The W3C <c>traceparent</c> of the activity that appended the event, or <see langword="null"/>: publishes and replays
    /// link to it, so an event can be followed back to the trace that created it.
    /// </summary>
    public string? TraceParent { get; init; }

    /// <summary>The W3C <c>tracestate</c> that went with <see cref="TraceParent"/>, or <see langword="null"/>.</summary>
    public string? TraceState { get; init; }

    /// <summary>Equal when every field is equal, headers compared by content.</summary>
    public bool Equals(RecordedEvent? other) =>
        other is not null
        && TimeBucket == other.TimeBucket
        && EventId == other.EventId
        && Topic == other.Topic
        && Key == other.Key
        && Message == other.Message
        && Type == other.Type
        && ContentType == other.ContentType
        && Instance == other.Instance
        && TraceParent == other.TraceParent
        && TraceState == other.TraceState
        && HeadersEqual(Headers, other.Headers);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(EventId, TimeBucket, Topic);

    private static bool HeadersEqual(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        foreach (var (name, value) in a)
        {
            if (!b.TryGetValue(name, out var other) || other != value)
            {
                return false;
            }
        }

        return true;
    }
}
