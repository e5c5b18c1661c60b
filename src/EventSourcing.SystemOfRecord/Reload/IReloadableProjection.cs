namespace EventSourcing.SystemOfRecord;

/// <summary>
/// A downstream view that can be wiped and rebuilt from the system of record (delete + reload):
/// <see cref="SystemOfRecord.ReloadAsync(IReloadableProjection, DateTime, DateTime, ReloadOptions?, IProgress{ReplayProgress}?, CancellationToken)"/>
/// calls <see cref="ResetAsync"/> once, then <see cref="ApplyAsync"/> for every stored event of the range, one at a time, in order.
/// </summary>
public interface IReloadableProjection
{
    /// <summary>Deletes everything the projection holds, so that it can be rebuilt from the first event.</summary>
    /// <param name="cancellationToken">Cancels the reset.</param>
    ValueTask ResetAsync(CancellationToken cancellationToken);

    /// <summary>Applies one event. Never called concurrently; calls follow bucket, then event id order.</summary>
    /// <param name="recordedEvent">The stored event.</param>
    /// <param name="cancellationToken">Cancels the reload.</param>
    ValueTask ApplyAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken);
}
