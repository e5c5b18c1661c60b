using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// The CloudEvents 1.0 Kafka protocol binding, binary content mode: attributes travel as <c>ce_</c> headers,
/// the event data is the record value, the Kafka key is the event's partitioning key.
/// </summary>
internal static class CloudEventsKafkaBinding
{
    public const string SpecVersion = "1.0";
    public const string SpecVersionHeader = "ce_specversion";
    public const string IdHeader = "ce_id";
    public const string TimeHeader = "ce_time";
    public const string SourceHeader = "ce_source";
    public const string TypeHeader = "ce_type";

    /// <summary>Our extension attribute <c>timebucket</c>: the start of the event's time bucket, RFC 3339 UTC.</summary>
    public const string TimeBucketHeader = "ce_timebucket";

    /// <summary>The binding maps <c>datacontenttype</c> to the Kafka <c>content-type</c> header.</summary>
    public const string ContentTypeHeader = "content-type";

    /// <summary>
    /// The distributed tracing extension: the trace context of the append that created the event. It stays the same
    /// through every publish and replay, unlike the transport headers (<see cref="TransportTraceParentHeader"/>),
    /// which carry the context of each send.
    /// </summary>
    public const string TraceParentHeader = "ce_traceparent";

    /// <summary>The <c>tracestate</c> of the distributed tracing extension.</summary>
    public const string TraceStateHeader = "ce_tracestate";

    /// <summary>The W3C trace context of the send (the producer span), injected by the propagator.</summary>
    public const string TransportTraceParentHeader = "traceparent";

    /// <summary>The W3C <c>tracestate</c> of the send.</summary>
    public const string TransportTraceStateHeader = "tracestate";

    private const string Rfc3339Utc = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    private const int EncodedCacheLimit = 1024;

    private static readonly byte[] SpecVersionBytes = "1.0"u8.ToArray();

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> Encoded = new(StringComparer.Ordinal);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// True for the headers this binding and trace propagation own: every <c>ce_</c> attribute, <c>content-type</c>,
    /// <c>traceparent</c>, <c>tracestate</c>, and whatever else the current <see cref="DistributedContextPropagator"/>
    /// writes (<c>baggage</c>, say). An event's own headers of these names are not sent, and are not read back as event headers.
    /// </summary>
    public static bool IsReserved(string name) =>
        name.StartsWith("ce_", StringComparison.Ordinal)
        || name is ContentTypeHeader or TransportTraceParentHeader or TransportTraceStateHeader
        || DistributedContextPropagator.Current.Fields.Contains(name);

    public static string FormatTime(DateTime utc) => utc.ToString(Rfc3339Utc, CultureInfo.InvariantCulture);

    /// <summary>
    /// Turns an event into a record: key and value UTF-8, the event's headers first, then the CloudEvents attributes.
    /// <c>ce_type</c> and <c>content-type</c> are the event's own (a typed append sets them), else <paramref name="defaultType"/>
    /// and <paramref name="defaultContentType"/>; the event's creation trace context travels as <c>ce_traceparent</c>/<c>ce_tracestate</c>.
    /// </summary>
    public static Message<byte[]?, byte[]> ToMessage(RecordedEvent recordedEvent, string source, string defaultType, string? defaultContentType)
    {
        var headers = new Headers();
        foreach (var (name, value) in recordedEvent.Headers)
        {
            if (!IsReserved(name))
            {
                headers.Add(name, Encoding.UTF8.GetBytes(value));
            }
        }

        // Written straight as bytes (no intermediate strings), and the few values every record repeats encoded once.
        headers.Add(SpecVersionHeader, SpecVersionBytes);
        var id = new byte[36];
        recordedEvent.EventId.FormatAscii(id);
        headers.Add(IdHeader, id);
        headers.Add(SourceHeader, Utf8Of(source));
        headers.Add(TypeHeader, Utf8Of(recordedEvent.Type ?? defaultType));
        headers.Add(TimeHeader, TimeBytes(recordedEvent.Timestamp));
        headers.Add(TimeBucketHeader, TimeBytes(recordedEvent.TimeBucket));
        if ((recordedEvent.ContentType ?? defaultContentType) is { } contentType)
        {
            headers.Add(ContentTypeHeader, Utf8Of(contentType));
        }

        if (recordedEvent.TraceParent is { } traceParent)
        {
            headers.Add(TraceParentHeader, Encoding.UTF8.GetBytes(traceParent));
            if (recordedEvent.TraceState is { Length: > 0 } traceState)
            {
                headers.Add(TraceStateHeader, Encoding.UTF8.GetBytes(traceState));
            }
        }

        return new Message<byte[]?, byte[]>
        {
            Key = recordedEvent.Key is null ? null : Encoding.UTF8.GetBytes(recordedEvent.Key),
            Value = Encoding.UTF8.GetBytes(recordedEvent.Message),
            Headers = headers,
        };
    }

    private static byte[] TimeBytes(DateTime utc)
    {
        Span<byte> text = stackalloc byte[28];
        utc.TryFormat(text, out var written, Rfc3339Utc, CultureInfo.InvariantCulture);
        return text[..written].ToArray();
    }

    /// <summary>
    /// The UTF-8 bytes of a source, type or content type: a handful of values each publisher repeats on every record,
    /// so they are encoded once (at most <see cref="EncodedCacheLimit"/> of them; header values are copied by librdkafka,
    /// never changed, so one array serves every record).
    /// </summary>
    private static byte[] Utf8Of(string value)
    {
        if (Encoded.TryGetValue(value, out var bytes))
        {
            return bytes;
        }

        bytes = Encoding.UTF8.GetBytes(value);
        if (Encoded.Count < EncodedCacheLimit)
        {
            Encoded.TryAdd(value, bytes);
        }

        return bytes;
    }

    /// <summary>
    /// Turns a record back into an event, or says why it cannot (a poison record): no CloudEvents headers,
    /// another spec version, a bad id or bucket, no value, bytes that are not UTF-8.
    /// </summary>
    public static bool TryToRecordedEvent(string topic, Message<byte[]?, byte[]?> message, out RecordedEvent? recordedEvent, out string? problem)
    {
        recordedEvent = null;
        var headers = message.Headers ?? [];
        if (!TryGetString(headers, SpecVersionHeader, out var specVersion))
        {
            problem = "it has no ce_specversion header (not a CloudEvent in binary content mode)";
            return false;
        }

        if (specVersion != SpecVersion)
        {
            problem = $"its ce_specversion is '{specVersion}', not '1.0'";
            return false;
        }

        if (!TryGetString(headers, IdHeader, out var id) || !TimeUuid.TryParse(id, out var eventId))
        {
            problem = "its ce_id is missing or not a version-1 time UUID";
            return false;
        }

        if (!TryGetString(headers, TimeBucketHeader, out var bucketText)
            || !DateTime.TryParse(bucketText, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var bucket)
            || bucket > eventId.GetTimestamp().UtcDateTime)
        {
            problem = "its ce_timebucket is missing, not an RFC 3339 time, or after the event's time";
            return false;
        }

        if (message.Value is null)
        {
            problem = "it has no value";
            return false;
        }

        string value;
        string? key;
        Dictionary<string, string>? eventHeaders = null;
        try
        {
            value = StrictUtf8.GetString(message.Value);
            key = message.Key is null ? null : StrictUtf8.GetString(message.Key);
            foreach (var header in headers)
            {
                if (!IsReserved(header.Key))
                {
                    var bytes = header.GetValueBytes();
                    (eventHeaders ??= new Dictionary<string, string>(StringComparer.Ordinal))[header.Key] = bytes is null ? string.Empty : StrictUtf8.GetString(bytes);
                }
            }
        }
        catch (DecoderFallbackException)
        {
            problem = "its key, value or a header is not valid UTF-8";
            return false;
        }

        recordedEvent = new RecordedEvent(DateTime.SpecifyKind(bucket, DateTimeKind.Utc), eventId, topic, key, value, eventHeaders)
        {
            Type = OptionalString(headers, TypeHeader),
            ContentType = OptionalString(headers, ContentTypeHeader),
            TraceParent = OptionalString(headers, TraceParentHeader),
            TraceState = OptionalString(headers, TraceStateHeader),
        };
        problem = null;
        return true;
    }

    private static string? OptionalString(Headers headers, string name) =>
        TryGetString(headers, name, out var value) && value.Length > 0 ? value : null;

    private static bool TryGetString(Headers headers, string name, out string value)
    {
        if (headers.TryGetLastBytes(name, out var bytes) && bytes is not null)
        {
            try
            {
                value = StrictUtf8.GetString(bytes);
                return true;
            }
            catch (DecoderFallbackException)
            {
            }
        }

        value = string.Empty;
        return false;
    }
}
