using System.Text;

namespace EventSourcing.SystemOfRecord;

/// <summary>What an append carries, checked and copied, ready to be written.</summary>
internal readonly record struct AppendRequest(string Message, string? Key, string Topic, Dictionary<string, string>? Headers, string? Type, string? ContentType);

/// <summary>
/// Checks an append before anything is written: what no store or broker accepts is refused here with an
/// <see cref="ArgumentException"/> that names the problem, so nothing is stored that could never be published.
/// </summary>
internal sealed class AppendValidator(string defaultTopic, int maxMessageBytes, PublishLimits limits)
{
    // Lone surrogates are refused rather than turned into U+FFFD: Cassandra text and Kafka consumers need valid UTF-8.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Header names the CloudEvents binding and trace propagation write; an event's own would be overwritten.</summary>
    public static bool IsReservedHeader(string name) =>
        name.StartsWith("ce_", StringComparison.OrdinalIgnoreCase)
        || name.Equals("content-type", StringComparison.OrdinalIgnoreCase)
        || name.Equals("traceparent", StringComparison.OrdinalIgnoreCase)
        || name.Equals("tracestate", StringComparison.OrdinalIgnoreCase);

    public AppendRequest Validate(string message, string? key, string? topic, IReadOnlyDictionary<string, string>? headers, string? type = null, string? contentType = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        topic ??= defaultTopic;
        if (TopicNames.Problem(topic) is { } problem)
        {
            ThrowHelper.ThrowArgument(nameof(topic), problem + " Pass null for the default topic.");
        }

        var messageBytes = Utf8Length(message, nameof(message));
        if (messageBytes > maxMessageBytes)
        {
            ThrowHelper.ThrowArgument(nameof(message), $"The message is {messageBytes} UTF-8 bytes; the limit (SystemOfRecordOptions.MaxMessageBytes) is {maxMessageBytes}.");
        }

        long recordBytes = messageBytes + (key is null ? 0 : Utf8Length(key, nameof(key)))
            + (type is null ? 0 : Utf8Length(type, nameof(type))) + (contentType is null ? 0 : Utf8Length(contentType, nameof(contentType)));
        Dictionary<string, string>? copy = null;
        if (headers is { Count: > 0 })
        {
            copy = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);
            foreach (var (name, value) in headers)
            {
                if (string.IsNullOrEmpty(name))
                {
                    ThrowHelper.ThrowArgument(nameof(headers), "A header name is empty.");
                }

                if (IsReservedHeader(name))
                {
                    ThrowHelper.ThrowArgument(nameof(headers), $"Header '{name}' is reserved: 'ce_*', 'content-type', 'traceparent' and 'tracestate' are written by the publisher (use the typed append for the event type).");
                }

                if (value is null)
                {
                    ThrowHelper.ThrowArgument(nameof(headers), $"Header '{name}' has a null value.");
                }

                recordBytes += Utf8Length(name, nameof(headers)) + Utf8Length(value, nameof(headers));
                copy[name] = value;
            }
        }

        if (recordBytes > limits.MaxRecordBytes)
        {
            ThrowHelper.ThrowArgument(
                nameof(message),
                $"The record (key, message, headers and event type) is {recordBytes} UTF-8 bytes; the publisher takes at most {limits.MaxRecordBytes} (its PublishLimits), so it could never be published.");
        }

        return new AppendRequest(message, key, topic, copy, type, contentType);
    }

    private static int Utf8Length(string text, string paramName)
    {
        try
        {
            return StrictUtf8.GetByteCount(text);
        }
        catch (EncoderFallbackException ex)
        {
            ThrowHelper.ThrowArgument(paramName, $"The text has a lone UTF-16 surrogate at index {ex.Index}: it is not valid Unicode and cannot be stored as UTF-8.");
            return 0;
        }
    }
}
