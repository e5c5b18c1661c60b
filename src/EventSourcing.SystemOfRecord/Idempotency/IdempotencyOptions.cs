namespace EventSourcing.SystemOfRecord;

/// <summary>What <see cref="IdempotentEventHandler"/> does with an event older than its window.</summary>
public enum OlderThanWindowMode
{
    /// <summary>Skip it: its id may have been pruned, so it is assumed applied. Safe for replays of old ranges.</summary>
    Skip,

    /// <summary>Hand it to the inner handler: at least once, so it may be applied a second time.</summary>
    Process,
}

/// <summary>Settings of an <see cref="IdempotentEventHandler"/>.</summary>
public sealed class IdempotencyOptions
{
    /// <summary>
    /// How far back, in event time, duplicates are recognised. Measured on each event's own timestamp, not on
    /// arrival: a replay of last week's events is recognised today as long as last week is inside the window.
    /// </summary>
    /// <value>The default is 30 days.</value>
    public TimeSpan RetentionWindow { get; set; } = TimeSpan.FromDays(30);

    /// <summary>What to do with an event whose time is before now minus <see cref="RetentionWindow"/>.</summary>
    /// <value>The default is <see cref="OlderThanWindowMode.Skip"/>.</value>
    public OlderThanWindowMode OlderThanWindow { get; set; } = OlderThanWindowMode.Skip;

    internal void Validate()
    {
        if (RetentionWindow <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(RetentionWindow)} must be positive (got {RetentionWindow}).", "options");
        }

        if (!Enum.IsDefined(OlderThanWindow))
        {
            throw new ArgumentException($"{nameof(OlderThanWindow)} is not a defined mode (got {(int)OlderThanWindow}).", "options");
        }
    }
}
