namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Named progress markers (replay checkpoints, publish watermarks) kept in the store, so progress survives a
/// restart and is shared by every process that opens the same store. An optional capability: an
/// <see cref="IEventStore"/> implements it when it can keep them. Implementations are thread-safe.
/// </summary>
/// <remarks>
/// A checkpoint is a small string (a bucket start in ISO 8601, say) under a name the writer owns. The last
/// write of a name wins; a write is durable when its task completes successfully, as an event append is.
/// </remarks>
public interface ICheckpointStore
{
    /// <summary>Reads the value last written under <paramref name="name"/>.</summary>
    /// <param name="name">The checkpoint's name; compared ordinally (case-sensitive).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The value, or <see langword="null"/> when nothing was ever written under that name.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Writes <paramref name="value"/> under <paramref name="name"/>, replacing any earlier value.</summary>
    /// <param name="name">The checkpoint's name; compared ordinally (case-sensitive).</param>
    /// <param name="value">The value to keep.</param>
    /// <param name="cancellationToken">Cancels the write; a cancelled write may or may not have taken effect.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default);
}
