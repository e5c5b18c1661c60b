namespace EventSourcing.SystemOfRecord;

/// <summary>Kafka's rule for topic names, which every topic of the system of record follows (linked into the Kafka package).</summary>
internal static class TopicNames
{
    /// <summary>Kafka's longest topic name.</summary>
    public const int MaxLength = 249;

    /// <summary>What is wrong with <paramref name="topic"/> under Kafka's rule (1 to 249 of <c>[a-zA-Z0-9._-]</c>, not "." or ".."), or null.</summary>
    public static string? Problem(string topic)
    {
        if (topic.Length is 0 or > MaxLength)
        {
            return $"A topic name is 1 to {MaxLength} characters long; got {topic.Length}.";
        }

        if (topic is "." or "..")
        {
            return $"The topic name '{topic}' is not allowed (Kafka refuses '.' and '..').";
        }

        foreach (var c in topic)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return $"The topic name '{topic}' has the character U+{(int)c:X4}; Kafka allows only letters, digits, '.', '_' and '-'.";
            }
        }

        return null;
    }
}
