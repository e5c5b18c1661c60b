using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace EventSourcing.SystemOfRecord;

// Typed appends: serialize the event, name its type, then take the string append path with both.
public sealed partial class SystemOfRecord
{
    /// <summary>How typed appends serialize events; the default JSON serializer unless set at construction (DI sets it).</summary>
    internal IEventSerializer EventSerializer { get; init; } = JsonEventSerializer.Default;

    /// <summary>How typed appends name event types; attribute or type name unless set at construction (DI sets it).</summary>
    internal EventTypeRegistry EventTypes { get; init; } = new();

    /// <summary>
    /// Records a typed event and hands it to the publish pipeline, as the string append does: the message is the event serialized by the registered
    /// <see cref="IEventSerializer"/> (JSON by default), <see cref="RecordedEvent.Type"/> its event type name
    /// (<see cref="EventTypeAttribute"/>, a mapping, or the type name of its runtime type) and
    /// <see cref="RecordedEvent.ContentType"/> the serializer's media type.
    /// </summary>
    /// <typeparam name="TEvent">The event's type; its runtime type names and serializes it.</typeparam>
    /// <param name="event">The event.</param>
    /// <param name="key">The partitioning key, or <see langword="null"/>.</param>
    /// <param name="topic">The topic; <see cref="SystemOfRecordOptions.DefaultTopic"/> when null.</param>
    /// <param name="headers">Headers that travel with the event; copied.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The recorded event.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="event"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The event cannot be serialized, its type name is invalid, or the append's other input is (see
    /// <see cref="AppendAsync(string, string?, string?, IReadOnlyDictionary{string, string}?, CancellationToken)"/>). Nothing was written.
    /// </exception>
    /// <exception cref="EventPublishException">
    /// <see cref="PublishMode.Acknowledged"/> only: the event was recorded but its publish failed, was refused, or did not
    /// finish within the publish timeout. It is safe: see <see cref="EventPublishException.RecoveryScheduled"/>.
    /// </exception>
    public ValueTask<RecordedEvent> AppendAsync<TEvent>(
        TEvent @event,
        string? key = null,
        string? topic = null,
        IReadOnlyDictionary<string, string>? headers = null,
        CancellationToken cancellationToken = default)
        where TEvent : notnull
    {
        var (message, type) = SerializeTyped(@event);
        return AppendCoreAsync(_validator.Validate(message, key, topic, headers, type, EventSerializer.ContentType), cancellationToken);
    }

    /// <summary>
    /// Records a typed event serialized as JSON with source-generated metadata (trimming and native AOT safe), then
    /// publishes it; <see cref="RecordedEvent.ContentType"/> is <c>application/json</c>.
    /// </summary>
    /// <param name="jsonTypeInfo">The metadata of <typeparamref name="TEvent"/>, from a <c>JsonSerializerContext</c>.</param>
    /// <inheritdoc cref="AppendAsync{TEvent}(TEvent, string?, string?, IReadOnlyDictionary{string, string}?, CancellationToken)"/>
#pragma warning disable CS1573 // the other parameters come from inheritdoc
    public ValueTask<RecordedEvent> AppendAsync<TEvent>(
        TEvent @event,
        JsonTypeInfo<TEvent> jsonTypeInfo,
        string? key = null,
        string? topic = null,
        IReadOnlyDictionary<string, string>? headers = null,
        CancellationToken cancellationToken = default)
        where TEvent : notnull
    {
        var (message, type) = SerializeTyped(@event, jsonTypeInfo);
        return AppendCoreAsync(_validator.Validate(message, key, topic, headers, type, JsonEventSerializer.JsonContentType), cancellationToken);
    }
#pragma warning restore CS1573

    /// <summary>
    /// Records a typed event, then publishes it; blocks until both are done. Prefer
    /// <see cref="AppendAsync{TEvent}(TEvent, string?, string?, IReadOnlyDictionary{string, string}?, CancellationToken)"/>.
    /// </summary>
    /// <inheritdoc cref="AppendAsync{TEvent}(TEvent, string?, string?, IReadOnlyDictionary{string, string}?, CancellationToken)"/>
    public RecordedEvent Append<TEvent>(TEvent @event, string? key = null, string? topic = null, IReadOnlyDictionary<string, string>? headers = null)
        where TEvent : notnull
    {
        var (message, type) = SerializeTyped(@event);
        return AppendBlocking(_validator.Validate(message, key, topic, headers, type, EventSerializer.ContentType));
    }

    /// <summary>
    /// Records a typed event serialized as JSON with source-generated metadata, then publishes it; blocks until both are done.
    /// </summary>
    /// <inheritdoc cref="AppendAsync{TEvent}(TEvent, JsonTypeInfo{TEvent}, string?, string?, IReadOnlyDictionary{string, string}?, CancellationToken)"/>
    public RecordedEvent Append<TEvent>(TEvent @event, JsonTypeInfo<TEvent> jsonTypeInfo, string? key = null, string? topic = null, IReadOnlyDictionary<string, string>? headers = null)
        where TEvent : notnull
    {
        var (message, type) = SerializeTyped(@event, jsonTypeInfo);
        return AppendBlocking(_validator.Validate(message, key, topic, headers, type, JsonEventSerializer.JsonContentType));
    }

    private (string Message, string Type) SerializeTyped<TEvent>(TEvent @event)
        where TEvent : notnull
    {
        ArgumentNullException.ThrowIfNull(@event);
        var runtimeType = @event.GetType();
        var type = EventTypes.GetName(runtimeType);
        string message;
        try
        {
            message = EventSerializer.Serialize(@event, runtimeType);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw SerializationFailed(runtimeType, ex);
        }

        return (message, type);
    }

    private (string Message, string Type) SerializeTyped<TEvent>(TEvent @event, JsonTypeInfo<TEvent> jsonTypeInfo)
        where TEvent : notnull
    {
        ArgumentNullException.ThrowIfNull(@event);
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        var type = EventTypes.GetName(@event.GetType());
        try
        {
            return (JsonSerializer.Serialize(@event, jsonTypeInfo), type);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw SerializationFailed(typeof(TEvent), ex);
        }
    }

    private static ArgumentException SerializationFailed(Type eventType, Exception exception) =>
        new($"The {eventType.FullName} could not be serialized: {exception.Message} Nothing was written.", "event", exception);
}
