namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Turns typed events into the text a <see cref="RecordedEvent"/> carries as its <see cref="RecordedEvent.Message"/>, and back.
/// <see cref="JsonEventSerializer"/> (System.Text.Json) is the default; bring your own for another encoding whose
/// form is text, such as the JSON mappings of Protobuf or Avro. Implementations are thread-safe.
/// </summary>
public interface IEventSerializer
{
    /// <summary>The media type of what <see cref="Serialize"/> writes, stored as <see cref="RecordedEvent.ContentType"/>, e.g. <c>application/json</c>.</summary>
    string ContentType { get; }

    /// <summary>Writes <paramref name="event"/>, an instance of <paramref name="eventType"/>, as text.</summary>
    /// <param name="event">The event; never null.</param>
    /// <param name="eventType">The type to serialize it as (its runtime type).</param>
    /// <returns>The message text.</returns>
    string Serialize(object @event, Type eventType);

    /// <summary>Reads an instance of <paramref name="eventType"/> from <paramref name="message"/>.</summary>
    /// <param name="message">The message text.</param>
    /// <param name="eventType">The type to read.</param>
    /// <returns>The event; never null.</returns>
    /// <exception cref="Exception">The text is not an instance of <paramref name="eventType"/> (the serializer's own exception).</exception>
    object Deserialize(string message, Type eventType);
}
