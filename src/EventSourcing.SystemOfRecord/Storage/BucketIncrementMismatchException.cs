namespace EventSourcing.SystemOfRecord;

/// <summary>
/// A store was opened with a bucket increment other than the one it was created with. Replaying under the
/// wrong increment would silently skip events, so the store refuses.
/// </summary>
public sealed class BucketIncrementMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public BucketIncrementMismatchException(TimeSpan storedIncrement, TimeSpan requestedIncrement)
        : base($"The event store was created with a bucket increment of {storedIncrement} but was opened with {requestedIncrement}. "
            + $"Set SystemOfRecordOptions.BucketIncrement to {storedIncrement}, or use a new store.")
    {
        StoredIncrement = storedIncrement;
        RequestedIncrement = requestedIncrement;
    }

    /// <summary>The increment the store was created with.</summary>
    public TimeSpan StoredIncrement { get; }

    /// <summary>The increment it was opened with.</summary>
    public TimeSpan RequestedIncrement { get; }
}
