namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Remembers which event ids a downstream has applied, for <see cref="IdempotentEventHandler"/>.
/// Entries are kept by the event's own time (its <see cref="TimeUuid"/> timestamp), so a replay of old
/// events is recognised however late the broker redelivers them. Implementations are thread-safe.
/// </summary>
public interface IProcessedEventLog
{
    /// <summary>Whether <paramref name="eventId"/> was marked processed (and not yet pruned).</summary>
    ValueTask<bool> IsProcessedAsync(TimeUuid eventId, CancellationToken cancellationToken = default);

    /// <summary>Marks <paramref name="eventId"/> processed. Marking an id twice is harmless.</summary>
    ValueTask MarkProcessedAsync(TimeUuid eventId, CancellationToken cancellationToken = default);

    /// <summary>Forgets every id whose event time is before <paramref name="eventTimeBefore"/>.</summary>
    /// <returns>How many ids were forgotten.</returns>
    ValueTask<long> PruneAsync(DateTimeOffset eventTimeBefore, CancellationToken cancellationToken = default);
}
