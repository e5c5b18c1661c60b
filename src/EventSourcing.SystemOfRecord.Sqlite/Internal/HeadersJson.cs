using System.Buffers;
using System.Collections.ObjectModel;
using System.Text;
using System.Text.Json;

namespace EventSourcing.SystemOfRecord.Sqlite.Internal;

/// <summary>
/// The <c>headers</c> column: a JSON object of string values (<c>{"name":"value"}</c>), or NULL when an event has none.
/// </summary>
internal static class HeadersJson
{
    private static readonly IReadOnlyDictionary<string, string> None = ReadOnlyDictionary<string, string>.Empty;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Readable in the sqlite3 shell; JSON stays valid because quotes and control characters are still escaped.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string? Encode(IReadOnlyDictionary<string, string> headers)
    {
        if (headers.Count == 0)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in headers)
            {
                ArgumentNullException.ThrowIfNull(name, "headers");
                ArgumentNullException.ThrowIfNull(value, "headers");
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <exception cref="FormatException">The column does not hold a JSON object of strings.</exception>
    public static IReadOnlyDictionary<string, string> Decode(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return None;
        }

        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                Expect(reader.Read() && reader.TokenType == JsonTokenType.String);
                headers[name] = reader.GetString()!;
            }

            Expect(reader.TokenType == JsonTokenType.EndObject);
        }
        catch (JsonException ex)
        {
            throw new FormatException("An events.headers value is not valid JSON.", ex);
        }

        return headers.Count == 0 ? None : new ReadOnlyDictionary<string, string>(headers);
    }

    private static void Expect(bool condition)
    {
        if (!condition)
        {
            throw new FormatException("An events.headers value is not a JSON object of string values.");
        }
    }
}
