using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Reads a <see cref="RecordedEvent"/>'s message as a typed event: <c>recorded.Deserialize&lt;OrderPlaced&gt;()</c>, or
/// <c>if (recorded.TryDeserialize&lt;OrderPlaced&gt;(out var placed))</c> to dispatch on the event's type.
/// </summary>
/// <remarks>
/// Extension methods rather than members of <see cref="RecordedEvent"/>: the event stays a plain data record, and the
/// serializer is a choice of the reader (the default JSON one, a source-generated <see cref="JsonTypeInfo{T}"/>, or any
/// <see cref="IEventSerializer"/>).
/// </remarks>
public static class RecordedEventSerializationExtensions
{
    /// <summary>Reads the message as a <typeparamref name="TEvent"/> with the default JSON serializer, whatever the event's type name.</summary>
    /// <exception cref="EventDeserializationException">The message is not a <typeparamref name="TEvent"/> in JSON, or the event's content type is not JSON.</exception>
    public static TEvent Deserialize<TEvent>(this RecordedEvent recordedEvent) =>
        recordedEvent.Deserialize<TEvent>(JsonEventSerializer.Default);

    /// <summary>Reads the message as a <typeparamref name="TEvent"/> with <paramref name="serializer"/>, whatever the event's type name.</summary>
    /// <exception cref="EventDeserializationException">The serializer cannot read the message as a <typeparamref name="TEvent"/>, or the event's content type is another.</exception>
    public static TEvent Deserialize<TEvent>(this RecordedEvent recordedEvent, IEventSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ArgumentNullException.ThrowIfNull(serializer);
        ThrowIfOtherContentType(recordedEvent, serializer.ContentType, typeof(TEvent));
        object value;
        try
        {
            value = serializer.Deserialize(recordedEvent.Message, typeof(TEvent));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new EventDeserializationException(recordedEvent, typeof(TEvent), ex.Message, ex);
        }

        return value is TEvent typed
            ? typed
            : throw new EventDeserializationException(recordedEvent, typeof(TEvent), $"the serializer returned {value?.GetType().FullName ?? "null"}.");
    }

    /// <summary>Reads the message as a <typeparamref name="TEvent"/> with source-generated JSON metadata (trimming and AOT safe), whatever the event's type name.</summary>
    /// <exception cref="EventDeserializationException">The message is not a <typeparamref name="TEvent"/> in JSON, or the event's content type is not JSON.</exception>
    public static TEvent Deserialize<TEvent>(this RecordedEvent recordedEvent, JsonTypeInfo<TEvent> jsonTypeInfo)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        ThrowIfOtherContentType(recordedEvent, JsonEventSerializer.JsonContentType, typeof(TEvent));
        TEvent? value;
        try
        {
            value = JsonSerializer.Deserialize(recordedEvent.Message, jsonTypeInfo);
        }
        catch (JsonException ex)
        {
            throw new EventDeserializationException(recordedEvent, typeof(TEvent), ex.Message, ex);
        }

        return value ?? throw new EventDeserializationException(recordedEvent, typeof(TEvent), "the message is JSON null.");
    }

    /// <summary>
    /// Reads the message as a <typeparamref name="TEvent"/> if the event is one: its <see cref="RecordedEvent.Type"/> is
    /// the name of <typeparamref name="TEvent"/> (its <see cref="EventTypeAttribute"/>, else its type name) and the
    /// default JSON serializer reads it. False for untyped events, other types, other content types and unreadable messages.
    /// </summary>
    public static bool TryDeserialize<TEvent>(this RecordedEvent recordedEvent, [MaybeNullWhen(false)] out TEvent value)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        return TryDeserializeCore(recordedEvent, EventTypeRegistry.DefaultName(typeof(TEvent)), e => e.Deserialize<TEvent>(), out value);
    }

    /// <summary>As <see cref="TryDeserialize{TEvent}(RecordedEvent, out TEvent)"/>, reading with source-generated JSON metadata.</summary>
    public static bool TryDeserialize<TEvent>(this RecordedEvent recordedEvent, JsonTypeInfo<TEvent> jsonTypeInfo, [MaybeNullWhen(false)] out TEvent value)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        return TryDeserializeCore(recordedEvent, EventTypeRegistry.DefaultName(typeof(TEvent)), e => e.Deserialize(jsonTypeInfo), out value);
    }

    /// <summary>
    /// As <see cref="TryDeserialize{TEvent}(RecordedEvent, out TEvent)"/>, with the names of <paramref name="eventTypes"/>
    /// and the encoding of <paramref name="serializer"/> (the ones the application registered in DI, say).
    /// </summary>
    public static bool TryDeserialize<TEvent>(this RecordedEvent recordedEvent, IEventSerializer serializer, EventTypeRegistry eventTypes, [MaybeNullWhen(false)] out TEvent value)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(eventTypes);
        return TryDeserializeCore(recordedEvent, eventTypes.GetName(typeof(TEvent)), e => e.Deserialize<TEvent>(serializer), out value);
    }

    /// <summary>Whether two media types are the same, parameters (<c>; charset=utf-8</c>) and case aside.</summary>
    internal static bool SameMediaType(string a, string b) =>
        MemoryExtensions.Equals(MediaType(a), MediaType(b), StringComparison.OrdinalIgnoreCase);

    private static ReadOnlySpan<char> MediaType(string contentType)
    {
        var span = contentType.AsSpan();
        var semicolon = span.IndexOf(';');
        return (semicolon < 0 ? span : span[..semicolon]).Trim();
    }

    private static bool TryDeserializeCore<TEvent>(RecordedEvent recordedEvent, string name, Func<RecordedEvent, TEvent> read, [MaybeNullWhen(false)] out TEvent value)
    {
        if (recordedEvent.Type != name)
        {
            value = default;
            return false;
        }

        try
        {
            value = read(recordedEvent);
            return true;
        }
        catch (EventDeserializationException)
        {
            value = default;
            return false;
        }
    }

    private static void ThrowIfOtherContentType(RecordedEvent recordedEvent, string expected, Type targetType)
    {
        if (recordedEvent.ContentType is { } actual && !SameMediaType(actual, expected))
        {
            throw new EventDeserializationException(recordedEvent, targetType, $"its content type is '{actual}', the serializer reads '{expected}'.");
        }
    }
}
