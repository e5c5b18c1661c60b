namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Sends a stream of stored events through the publish pipeline, many in flight: a range republish, a replay without a
/// strategy, a reconciliation's repair. Sends start in stream order (a publisher keeps the order of sends per key);
/// at most <see cref="Window"/> are outstanding, so memory stays flat however long the stream.
/// </summary>
internal static class Republisher
{
    /// <summary>Sends outstanding at once: enough to fill the pipeline's budget, few enough to keep memory flat.</summary>
    public const int Window = 4096;

    /// <returns>How many events were published.</returns>
    public static async Task<long> RepublishAsync(PublishPipeline pipeline, IAsyncEnumerable<RecordedEvent> events, CancellationToken cancellationToken)
    {
        var outstanding = new Queue<Task>(Window);
        long count = 0;
        try
        {
            await foreach (var recorded in events.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (outstanding.Count == Window)
                {
                    await outstanding.Dequeue().ConfigureAwait(false);
                }

                outstanding.Enqueue(pipeline.SendAsync(recorded, cancellationToken));
                count++;
            }

            while (outstanding.Count > 0)
            {
                await outstanding.Dequeue().ConfigureAwait(false);
            }
        }
        finally
        {
            // After a failure, observe what is still outstanding so no send outlives the call unobserved.
            while (outstanding.Count > 0)
            {
                try
                {
                    await outstanding.Dequeue().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The first failure is already on its way to the caller.
                }
            }
        }

        return count;
    }
}
