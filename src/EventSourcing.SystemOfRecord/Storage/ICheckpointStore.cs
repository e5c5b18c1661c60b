namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Named progress markers (replay checkpoints, publish cursors, leases) kept in the store, so progress survives a
/// restart and is shared by every process that opens the same store. An optional capability: an
/// <see cref="IEventStore"/> implements it when it can keep them. Implementations are thread-safe.
/// </summary>
/// <remarks>
/// A checkpoint is a small string under a name its writer owns; names are compared ordinally (case-sensitive).
/// A write is durable when its task completes successfully, as an event append is.
/// </remarks>
public interface ICheckpointStore
{
    /// <summary>Reads the value last written under <paramref name="name"/>.</summary>
    /// <param name="name">The checkpoint's name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The value, or <see langword="null"/> when nothing was ever written under that name (or it was deleted).</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Writes <paramref name="value"/> under <paramref name="name"/>, replacing any earlier value (the last write wins).</summary>
    /// <param name="name">The checkpoint's name.</param>
    /// <param name="value">The value to keep.</param>
    /// <param name="cancellationToken">Cancels the write; a cancelled write may or may not have taken effect.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default);

    /// <summary>
    /// Compare-and-set: replaces the value under <paramref name="name"/> with <paramref name="value"/> only when it is
    /// <paramref name="expected"/> right now, atomically across every process that opens the store. Leases and
    /// publish cursors use it, so that two writers of one name cannot both win.
    /// </summary>
    /// <param name="name">The checkpoint's name.</param>
    /// <param name="expected">The value the caller last saw; <see langword="null"/> when the name must not exist.</param>
    /// <param name="value">The new value; <see langword="null"/> deletes the name.</param>
    /// <param name="cancellationToken">Cancels the call; a cancelled call may or may not have taken effect.</param>
    /// <returns><see langword="true"/> when the value was replaced; <see langword="false"/> when it was not <paramref name="expected"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default);

    /// <summary>Deletes the checkpoint <paramref name="name"/>; deleting a name that does not exist does nothing.</summary>
    /// <param name="name">The checkpoint's name.</param>
    /// <param name="cancellationToken">Cancels the call; a cancelled delete may or may not have taken effect.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Streams every checkpoint whose name starts with <paramref name="prefix"/>, in ordinal name order.</summary>
    /// <param name="prefix">The name prefix; empty lists every checkpoint.</param>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <exception cref="ArgumentNullException"><paramref name="prefix"/> is null.</exception>
    IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, CancellationToken cancellationToken = default);
}
