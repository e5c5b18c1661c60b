using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// Configures one Kafka event consumer that <c>AddKafkaEventConsumer(o => ...)</c> registered: its typed handlers,
/// a handler for the other events, and idempotency. Every call returns the builder, to chain the next.
/// </summary>
public sealed class KafkaEventConsumerBuilder
{
    internal KafkaEventConsumerBuilder(IServiceCollection services, KafkaConsumerRegistration registration)
    {
        Services = services;
        Registration = registration;
    }

    /// <summary>The service collection the consumer is registered in.</summary>
    public IServiceCollection Services { get; }

    internal KafkaConsumerRegistration Registration { get; }

    /// <summary>
    /// Hands every event whose <see cref="RecordedEvent.Type"/> is the name of <typeparamref name="TEvent"/> (its
    /// <see cref="EventTypeAttribute"/>, a mapping in <see cref="EventTypeRegistry"/>, else its type name) to
    /// <paramref name="handler"/>, deserialized by the registered <see cref="IEventSerializer"/> (JSON by default).
    /// An event that cannot be deserialized is not retried: it goes to <see cref="KafkaConsumerOptions.HandlerFailurePolicy"/> at once.
    /// </summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="handler">Handles one event; throwing has it retried, then handled per the failure policy.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><typeparamref name="TEvent"/> already has a handler on this consumer.</exception>
    public KafkaEventConsumerBuilder Handle<TEvent>(Func<TEvent, KafkaEventContext, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Registration.Add(new TypedEventHandler<TEvent>(handler, jsonTypeInfo: null));
        return this;
    }

    /// <summary>As <see cref="Handle{TEvent}(Func{TEvent, KafkaEventContext, CancellationToken, ValueTask})"/>, deserializing JSON with source-generated metadata (trimming and AOT safe).</summary>
    /// <param name="jsonTypeInfo">The metadata of <typeparamref name="TEvent"/>, from a <c>JsonSerializerContext</c>.</param>
    /// <param name="handler">Handles one event.</param>
    /// <returns>This builder.</returns>
    public KafkaEventConsumerBuilder Handle<TEvent>(JsonTypeInfo<TEvent> jsonTypeInfo, Func<TEvent, KafkaEventContext, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        ArgumentNullException.ThrowIfNull(handler);
        Registration.Add(new TypedEventHandler<TEvent>(handler, jsonTypeInfo));
        return this;
    }

    /// <summary>
    /// Hands every event no typed handler takes (untyped events included) to <paramref name="handler"/>, as a
    /// <see cref="RecordedEvent"/>; with it, <see cref="KafkaConsumerOptions.UnknownEventTypePolicy"/> never applies.
    /// </summary>
    /// <param name="handler">Handles one event.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="InvalidOperationException">The consumer already has such a handler.</exception>
    public KafkaEventConsumerBuilder HandleOthers(Func<RecordedEvent, KafkaEventContext, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Registration.OtherEvents is not null)
        {
            throw new InvalidOperationException("This consumer already has a handler for the other events.");
        }

        Registration.OtherEvents = handler;
        return this;
    }

    /// <summary>
    /// Applies each event at most once per <see cref="RecordedEvent.EventId"/> within the window (replays and redeliveries
    /// are recognised), through <see cref="IdempotentEventHandler"/> and the <see cref="IProcessedEventLog"/> registered in
    /// DI: in memory unless another one is registered (<c>AddSqliteProcessedEventLog</c>, <c>AddCassandraProcessedEventLog</c>).
    /// Ids older than the window are pruned every hour.
    /// </summary>
    /// <param name="configure">Sets the window and what to do with older events; defaults when null.</param>
    /// <returns>This builder.</returns>
    public KafkaEventConsumerBuilder WithIdempotency(Action<IdempotencyOptions>? configure = null)
    {
        Services.TryAddSingleton<IProcessedEventLog>(_ => new InMemoryProcessedEventLog());
        return WithIdempotency(sp => sp.GetRequiredService<IProcessedEventLog>(), configure);
    }

    /// <summary>As <see cref="WithIdempotency(Action{IdempotencyOptions}?)"/>, with a processed-event log of this consumer's own.</summary>
    /// <param name="processedEventLog">Creates the log (once, when the consumer is created).</param>
    /// <param name="configure">Sets the window and what to do with older events; defaults when null.</param>
    /// <returns>This builder.</returns>
    public KafkaEventConsumerBuilder WithIdempotency(Func<IServiceProvider, IProcessedEventLog> processedEventLog, Action<IdempotencyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(processedEventLog);
        var options = new IdempotencyOptions();
        configure?.Invoke(options); // validated when the consumer is created, by IdempotentEventHandler
        Registration.Idempotency = (processedEventLog, options);
        return this;
    }
}
