using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// Hands one event to the handler its type names, or to the handler of the other events, or applies the unknown-type
/// policy; behind <see cref="IdempotentEventHandler"/> when the consumer is idempotent. One event at a time.
/// </summary>
internal sealed partial class KafkaEventDispatcher
{
    private readonly Dictionary<string, TypedEventHandler> _byType = new(StringComparer.Ordinal);
    private readonly Func<RecordedEvent, KafkaEventContext, CancellationToken, ValueTask>? _others;
    private readonly IEventSerializer _serializer;
    private readonly UnknownEventTypePolicy _unknownPolicy;
    private readonly IdempotentEventHandler? _idempotent;
    private readonly ILogger _logger;
    private KafkaEventContext? _context;

    public KafkaEventDispatcher(KafkaConsumerRegistration registration, KafkaConsumerOptions options, IServiceProvider services, ILogger logger)
    {
        _serializer = services.GetService<IEventSerializer>() ?? JsonEventSerializer.Default;
        var types = services.GetService<EventTypeRegistry>() ?? new EventTypeRegistry();
        foreach (var handler in registration.TypedHandlers)
        {
            var name = types.GetName(handler.EventType);
            if (!_byType.TryAdd(name, handler))
            {
                throw new InvalidOperationException(
                    $"The Kafka consumer of topic '{options.Topic}' has two handlers for the event type '{name}': {_byType[name].EventType.FullName} and {handler.EventType.FullName}.");
            }
        }

        _others = registration.OtherEvents;
        if (_byType.Count == 0 && _others is null)
        {
            throw new InvalidOperationException(
                $"The Kafka consumer of topic '{options.Topic}' has no handler: call Handle<TEvent>(...) or HandleOthers(...) on the builder AddKafkaEventConsumer returned.");
        }

        _unknownPolicy = options.UnknownEventTypePolicy;
        _logger = logger;
        if (registration.Idempotency is var (log, idempotency))
        {
            _idempotent = new IdempotentEventHandler(
                (e, ct) => DispatchCoreAsync(e, _context!, ct),
                log(services),
                idempotency,
                services.GetService<TimeProvider>(),
                services.GetService<ILogger<IdempotentEventHandler>>());
        }
    }

    public bool IsIdempotent => _idempotent is not null;

    /// <summary>Whether the last event dispatched had no handler and was skipped per <see cref="UnknownEventTypePolicy.Skip"/>.</summary>
    public bool SkippedUnknownType { get; private set; }

    /// <summary>Dispatches one event. Throws <see cref="UnknownEventTypeException"/> for an event no handler takes unless the policy skips it.</summary>
    public ValueTask DispatchAsync(RecordedEvent recordedEvent, KafkaEventContext context, CancellationToken cancellationToken)
    {
        SkippedUnknownType = false;
        if (_idempotent is null)
        {
            return DispatchCoreAsync(recordedEvent, context, cancellationToken);
        }

        _context = context;
        return _idempotent.HandleAsync(recordedEvent, cancellationToken);
    }

    /// <summary>Forgets processed ids older than the idempotency window.</summary>
    public ValueTask<long> PruneAsync(CancellationToken cancellationToken) =>
        _idempotent?.PruneAsync(cancellationToken) ?? ValueTask.FromResult(0L);

    private ValueTask DispatchCoreAsync(RecordedEvent recordedEvent, KafkaEventContext context, CancellationToken cancellationToken)
    {
        if (recordedEvent.Type is { } type && _byType.TryGetValue(type, out var typed))
        {
            return typed.HandleAsync(recordedEvent, context, _serializer, cancellationToken);
        }

        if (_others is not null)
        {
            return _others(recordedEvent, context, cancellationToken);
        }

        if (_unknownPolicy != UnknownEventTypePolicy.Skip)
        {
            throw new UnknownEventTypeException(recordedEvent.Type);
        }

        SkippedUnknownType = true;
        Log.UnknownTypeSkipped(_logger, recordedEvent.EventId, recordedEvent.Type ?? "(none)", recordedEvent.Topic);
        return ValueTask.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(3213, LogLevel.Debug, "Event {EventId} of type {EventType} on topic {Topic} has no handler; skipped.")]
        public static partial void UnknownTypeSkipped(ILogger logger, TimeUuid eventId, string eventType, string topic);
    }
}

/// <summary>No handler of the consumer takes the event's type, and the policy is not to skip it. Never retried.</summary>
internal sealed class UnknownEventTypeException(string? eventType)
    : Exception($"no handler takes the event type '{eventType ?? "(none)"}'");
