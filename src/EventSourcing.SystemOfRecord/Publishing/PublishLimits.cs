namespace EventSourcing.SystemOfRecord;

/// <summary>
/// What a publisher can carry, so that an append over it is refused before anything is written rather than stored and
/// then never published. A record's size is counted as the UTF-8 bytes of its key, message, header names and header values.
/// </summary>
public sealed record PublishLimits
{
    /// <summary>No limits: the in-memory publisher's.</summary>
    public static PublishLimits None { get; } = new();

    /// <summary>The largest record (key + message + header names and values, UTF-8) the publisher can send.</summary>
    /// <value>The default is <see cref="int.MaxValue"/>.</value>
    public int MaxRecordBytes { get; init; } = int.MaxValue;
}
