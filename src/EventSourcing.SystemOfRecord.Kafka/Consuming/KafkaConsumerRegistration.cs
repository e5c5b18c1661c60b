using System.Text.Json.Serialization.Metadata;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>What one <c>AddKafkaEventConsumer</c> call registered: the handlers and idempotency its builder added.</summary>
internal sealed class KafkaConsumerRegistration(string name)
{
    private readonly List<TypedEventHandler> _typed = [];

    /// <summary>The name of the consumer's options and of its keyed service.</summary>
    public string Name { get; } = name;

    public IReadOnlyList<TypedEventHandler> TypedHandlers => _typed;

    public Func<RecordedEvent, KafkaEventContext, CancellationToken, ValueTask>? OtherEvents { get; set; }

    public (Func<IServiceProvider, IProcessedEventLog> Log, IdempotencyOptions Options)? Idempotency { get; set; }

    public void Add(TypedEventHandler handler)
    {
        if (_typed.Any(h => h.EventType == handler.EventType))
        {
            throw new ArgumentException($"{handler.EventType.FullName} already has a handler on this consumer.", nameof(handler));
        }

        _typed.Add(handler);
    }
}

/// <summary>A handler of one event type: deserializes the event, then calls the user's delegate.</summary>
internal abstract class TypedEventHandler(Type eventType)
{
    public Type EventType { get; } = eventType;

    public abstract ValueTask HandleAsync(RecordedEvent recordedEvent, KafkaEventContext context, IEventSerializer serializer, CancellationToken cancellationToken);
}

internal sealed class TypedEventHandler<TEvent>(Func<TEvent, KafkaEventContext, CancellationToken, ValueTask> handler, JsonTypeInfo<TEvent>? jsonTypeInfo)
    : TypedEventHandler(typeof(TEvent))
{
    public override ValueTask HandleAsync(RecordedEvent recordedEvent, KafkaEventContext context, IEventSerializer serializer, CancellationToken cancellationToken)
    {
        var value = jsonTypeInfo is null ? recordedEvent.Deserialize<TEvent>(serializer) : recordedEvent.Deserialize(jsonTypeInfo);
        return handler(value, context, cancellationToken);
    }
}
