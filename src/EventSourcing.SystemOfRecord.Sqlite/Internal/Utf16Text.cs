namespace EventSourcing.SystemOfRecord.Sqlite.Internal;

/// <summary>
/// SQLite keeps text as UTF-8, so a lone UTF-16 surrogate would be stored as U+FFFD and read back changed (Cassandra's
/// text and Kafka's consumers need valid UTF-8 too). Such text is refused before anything is written.
/// </summary>
internal static class Utf16Text
{
    /// <exception cref="ArgumentException">A text field of <paramref name="recordedEvent"/> holds a lone surrogate.</exception>
    public static void ThrowIfInvalid(RecordedEvent recordedEvent)
    {
        Check(recordedEvent.Topic, "topic");
        Check(recordedEvent.Key, "key");
        Check(recordedEvent.Message, "message");
        Check(recordedEvent.Type, "type");
        Check(recordedEvent.ContentType, "content type");
        Check(recordedEvent.Instance, "instance");
        Check(recordedEvent.TraceParent, "traceparent");
        Check(recordedEvent.TraceState, "tracestate");
        foreach (var (name, value) in recordedEvent.Headers)
        {
            Check(name, "header name");
            Check(value, "header value");
        }
    }

    /// <summary>Whether every surrogate in <paramref name="text"/> is half of a pair.</summary>
    public static bool IsValid(ReadOnlySpan<char> text)
    {
        // Vectorized search for the first surrogate: most text has none.
        var i = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0)
        {
            return true;
        }

        for (; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static void Check(string? text, string field)
    {
        if (text is not null && !IsValid(text))
        {
            throw new ArgumentException(
                $"The event's {field} holds a lone UTF-16 surrogate, which UTF-8 cannot carry (it would be stored as U+FFFD); nothing was written.",
                "recordedEvent");
        }
    }
}
