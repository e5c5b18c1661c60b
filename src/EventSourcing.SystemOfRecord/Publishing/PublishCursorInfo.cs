namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Where one instance's publish pipeline stands, as kept in the store with publish recovery
/// (<c>SystemOfRecord.GetPublishCursorsAsync()</c>): for operators, and for taking over an instance that never returns.
/// </summary>
public sealed record PublishCursorInfo
{
    /// <summary>The instance.</summary>
    public required string InstanceName { get; init; }

    /// <summary>Every event of the instance with an id up to it was published (or parked) when the record was written.</summary>
    public required TimeUuid Cursor { get; init; }

    /// <summary>The highest time the instance's event ids may carry: a start floors its id generator here and catches up to it.</summary>
    public required DateTimeOffset ReservedUntil { get; init; }

    /// <summary>
    /// Whether the last holder let go of the name (a clean stop). When <see langword="false"/>, a process holds it, or held
    /// it and died: a new holder waits <see cref="PublishRecoveryOptions.LeaseDuration"/> for the record to change before it takes over.
    /// </summary>
    public required bool IsReleased { get; init; }

    /// <summary>Grows with every write: a holder renews at least every quarter of the lease, so a value that stays put means no live holder.</summary>
    public required long Sequence { get; init; }

    internal static PublishCursorInfo From(string instanceName, PublishCursorRecord record) => new()
    {
        InstanceName = instanceName,
        Cursor = record.Cursor,
        ReservedUntil = record.ReservedUntil,
        IsReleased = record.Released,
        Sequence = record.Sequence,
    };
}
