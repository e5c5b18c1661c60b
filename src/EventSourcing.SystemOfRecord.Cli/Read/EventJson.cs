using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.CommandLine;

namespace EventSourcing.SystemOfRecord.Cli.Read;

/// <summary>
/// One event as one line of JSON, every field of <see cref="RecordedEvent"/> (absent ones as null): <c>eventId</c>,
/// <c>timestamp</c>, <c>timeBucket</c>, <c>topic</c>, <c>key</c>, <c>type</c>, <c>contentType</c>, <c>instance</c>,
/// <c>traceParent</c>, <c>traceState</c>, <c>headers</c> and <c>message</c> (the payload, as a string).
/// </summary>
internal sealed class EventJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ArrayBufferWriter<byte> _buffer = new();

    public string Format(RecordedEvent recorded)
    {
        _buffer.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(_buffer, Options))
        {
            json.WriteStartObject();
            json.WriteString("eventId", recorded.EventId.ToString());
            json.WriteString("timestamp", TimeText.Format(recorded.Timestamp));
            json.WriteString("timeBucket", TimeText.Format(recorded.TimeBucket));
            json.WriteString("topic", recorded.Topic);
            json.WriteString("key", recorded.Key);
            json.WriteString("type", recorded.Type);
            json.WriteString("contentType", recorded.ContentType);
            json.WriteString("instance", recorded.Instance);
            json.WriteString("traceParent", recorded.TraceParent);
            json.WriteString("traceState", recorded.TraceState);
            json.WriteStartObject("headers");
            foreach (var (name, value) in recorded.Headers.OrderBy(h => h.Key, StringComparer.Ordinal))
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
            json.WriteString("message", recorded.Message);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(_buffer.WrittenSpan);
    }
}
