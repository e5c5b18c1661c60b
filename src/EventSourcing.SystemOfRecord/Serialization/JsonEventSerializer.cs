using System.Text.Json;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The default <see cref="IEventSerializer"/>: JSON with System.Text.Json, media type <c>application/json</c>.
/// Thread-safe. For trimmed or native AOT applications, pass options whose <see cref="JsonSerializerOptions.TypeInfoResolver"/>
/// is a source-generated <c>JsonSerializerContext</c> (or use the <c>JsonTypeInfo&lt;T&gt;</c> overloads).
/// </summary>
public sealed class JsonEventSerializer : IEventSerializer
{
    /// <summary>The media type of JSON events: <c>application/json</c>.</summary>
    public const string JsonContentType = "application/json";

    /// <summary>An instance with the default options (<see cref="JsonSerializerDefaults.Web"/>: camelCase names, case-insensitive reads).</summary>
    public static JsonEventSerializer Default { get; } = new();

    private readonly JsonSerializerOptions _options;

    /// <summary>Creates a serializer.</summary>
    /// <param name="options">The System.Text.Json options; <see cref="JsonSerializerDefaults.Web"/> when null. Made read-only here.</param>
    public JsonEventSerializer(JsonSerializerOptions? options = null)
    {
        _options = options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);

        // Without a resolver (no source-generated context), fall back to reflection, as JsonSerializer's own overloads do.
        _options.MakeReadOnly(populateMissingResolver: true);
    }

    /// <inheritdoc />
    public string ContentType => JsonContentType;

    /// <summary>The options in use.</summary>
    public JsonSerializerOptions Options => _options;

    /// <inheritdoc />
    public string Serialize(object @event, Type eventType)
    {
        ArgumentNullException.ThrowIfNull(@event);
        ArgumentNullException.ThrowIfNull(eventType);
        return JsonSerializer.Serialize(@event, _options.GetTypeInfo(eventType));
    }

    /// <inheritdoc />
    /// <exception cref="JsonException">The text is not JSON for <paramref name="eventType"/>, or is <c>null</c>.</exception>
    public object Deserialize(string message, Type eventType)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(eventType);
        return JsonSerializer.Deserialize(message, _options.GetTypeInfo(eventType))
            ?? throw new JsonException($"The message is JSON null, not a {eventType.Name}.");
    }
}
