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

    /// <summary>
    /// The most events handed to the pipeline in one run. Events the stream already holds (a store reads rows in
    /// chunks) go over together, one lock and one completion per run instead of per event; a stream that has to wait
    /// for its next event first sends what it holds, so nothing waits on the stream.
    /// </summary>
    public const int MaxRun = 256;

    /// <returns>How many events were published.</returns>
    public static async Task<long> RepublishAsync(PublishPipeline pipeline, IAsyncEnumerable<RecordedEvent> events, CancellationToken cancellationToken)
    {
        var outstanding = new Queue<(Task Sent, int Count)>(Window / MaxRun + 1);
        var outstandingEvents = 0;
        var run = new List<RecordedEvent>(MaxRun);
        long count = 0;

        async ValueTask SendRunAsync()
        {
            while (outstandingEvents + run.Count > Window)
            {
                var (sent, sentCount) = outstanding.Dequeue();
                outstandingEvents -= sentCount;
                await sent.ConfigureAwait(false);
            }

            // The pipeline takes the events in before SendAsync returns: the list is free again.
            outstanding.Enqueue((pipeline.SendAsync(run, cancellationToken), run.Count));
            outstandingEvents += run.Count;
            count += run.Count;
            run.Clear();
        }

        try
        {
            var enumerator = events.GetAsyncEnumerator(cancellationToken);
            await using (enumerator.ConfigureAwait(false))
            {
                while (true)
                {
                    var next = enumerator.MoveNextAsync();
                    if (!next.IsCompleted && run.Count > 0)
                    {
                        try
                        {
                            await SendRunAsync().ConfigureAwait(false);
                        }
                        catch (Exception)
                        {
                            // Let the read in progress finish first: the enumerator cannot be disposed during a MoveNextAsync.
                            try
                            {
                                await next.ConfigureAwait(false);
                            }
                            catch (Exception)
                            {
                                // The send's failure is the one to report.
                            }

                            throw;
                        }
                    }

                    if (!await next.ConfigureAwait(false))
                    {
                        break;
                    }

                    run.Add(enumerator.Current);
                    if (run.Count == MaxRun)
                    {
                        await SendRunAsync().ConfigureAwait(false);
                    }
                }
            }

            if (run.Count > 0)
            {
                await SendRunAsync().ConfigureAwait(false);
            }

            while (outstanding.Count > 0)
            {
                await outstanding.Dequeue().Sent.ConfigureAwait(false);
            }
        }
        finally
        {
            // After a failure, observe what is still outstanding so no send outlives the call unobserved.
            while (outstanding.Count > 0)
            {
                try
                {
                    await outstanding.Dequeue().Sent.ConfigureAwait(false);
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
