using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// What a handler knows about the event it handles, beside the event itself: the recorded event's metadata (id, type,
/// time, key, headers, creation trace context), where the record sits in Kafka, the attempt, and a service scope of its own.
/// Valid during the handler call only.
/// </summary>
public sealed class KafkaEventContext
{
    private readonly IServiceProvider _services;
    private AsyncServiceScope? _scope;

    internal KafkaEventContext(RecordedEvent recordedEvent, string groupId, int partition, long offset, IServiceProvider services)
    {
        Event = recordedEvent;
        GroupId = groupId;
        Partition = partition;
        Offset = offset;
        _services = services;
    }

    /// <summary>The event as recorded: <see cref="RecordedEvent.EventId"/> (the idempotency key), <see cref="RecordedEvent.Type"/>, <see cref="RecordedEvent.Timestamp"/>, key, headers, message.</summary>
    public RecordedEvent Event { get; }

    /// <summary>The topic the record was read from.</summary>
    public string Topic => Event.Topic;

    /// <summary>The consumer group.</summary>
    public string GroupId { get; }

    /// <summary>The record's partition.</summary>
    public int Partition { get; }

    /// <summary>The record's offset.</summary>
    public long Offset { get; }

    /// <summary>Which call of the handler this is for this delivery of the record: 1, then 2 on the first retry, and so on.</summary>
    public int Attempt { get; internal set; }

    /// <summary>A service scope of this event's own (created on first use, disposed after the event): resolve scoped services here.</summary>
    public IServiceProvider Services => (_scope ??= _services.CreateAsyncScope()).ServiceProvider;

    /// <summary>Disposes the event's service scope, if one was created; the consumer calls it once the event is done.</summary>
    internal ValueTask DisposeScopeAsync() => _scope?.DisposeAsync() ?? ValueTask.CompletedTask;
}
