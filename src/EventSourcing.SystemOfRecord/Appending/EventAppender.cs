using System.Diagnostics;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The steps of one append, written once for the blocking and the asynchronous call, which differ only in how they
/// wait: issue the id in the publish pipeline, write the store, hand the committed event to the pipeline, and in
/// <see cref="PublishMode.Acknowledged"/> wait for its publish.
/// </summary>
/// <remarks>
/// The blocking path blocks on the store's and the pipeline's tasks directly, so no continuation needs a free
/// thread-pool thread: many callers blocked in <c>Append</c> cannot starve the work they wait for.
/// </remarks>
internal sealed class EventAppender(IEventStore store, PublishPipeline pipeline, PublishMode mode, string instanceName, long incrementTicks, TimeProvider clock, SystemOfRecordMetrics metrics)
{
    public async ValueTask<RecordedEvent> AppendAsync(AppendRequest request, bool async, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();

        // The creation context is the caller's span, taken before sor.append starts: publishes and replays link to it.
        var context = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current : null;
        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.append");
        activity?.SetTag("messaging.destination.name", request.Topic);
        var slot = pipeline.Issue();
        RecordedEvent recorded = null!;
        try
        {
            recorded = new RecordedEvent(TimeBuckets.Floor(slot.Id.GetTimestamp().UtcDateTime, incrementTicks), slot.Id, request.Topic, request.Key, request.Message, request.Headers)
            {
                Type = request.Type,
                ContentType = request.ContentType,
                Instance = instanceName,
                TraceParent = context?.Id,
                TraceState = context?.TraceStateString,
            };
            activity?.SetTag("messaging.message.id", recorded.EventId.ToString());
            if (pipeline.NeedsReservation(slot))
            {
                var reserved = pipeline.ReserveAsync(slot, async, cancellationToken);
                if (async)
                {
                    await reserved.ConfigureAwait(false);
                }
                else
                {
                    Block(reserved);
                }
            }

            var written = store.AppendAsync(recorded, cancellationToken);
            if (async)
            {
                await written.ConfigureAwait(false);
            }
            else
            {
                Block(written);
            }
        }
        catch (IndeterminateAppendException ex)
        {
            pipeline.Indeterminate(slot, recorded);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
        catch (Exception ex)
        {
            pipeline.Abandoned(slot); // a failed write wrote nothing: nothing to publish
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }

        pipeline.Committed(slot, recorded);
        metrics.Appended();
        if (mode == PublishMode.Acknowledged)
        {
            try
            {
                await pipeline.WaitFirstOutcomeAsync(slot, recorded, async, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                throw;
            }
        }

        metrics.AppendCompleted(clock.GetElapsedTime(started));
        return recorded;
    }

    /// <summary>Blocks on <paramref name="pending"/>; a blocking wait on a task is signalled inline, needing no pool thread.</summary>
    internal static void Block(ValueTask pending)
    {
        if (pending.IsCompleted)
        {
            pending.GetAwaiter().GetResult();
        }
        else
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }
}
