using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// Producer and consumer spans after the OpenTelemetry messaging semantic conventions, and the trace context they
/// carry in record headers. Two contexts travel with each record: the event's creation context (CloudEvents
/// <c>ce_traceparent</c>, fixed at append) and the transport context of each send (<c>traceparent</c>, injected by
/// <see cref="DistributedContextPropagator"/>).
/// </summary>
internal static class KafkaTracing
{
    /// <summary>
    /// Starts the Producer span of one send, or returns null when nobody listens. Parent: <see cref="Activity.Current"/>
    /// when there is one (a replay calls from its own span), with a link to the creation context; otherwise the creation
    /// context. Injects the span's context into <paramref name="headers"/>, and leaves <see cref="Activity.Current"/>
    /// as it was: the span ends when the broker answers, not when this call returns.
    /// </summary>
    public static Activity? StartSend(RecordedEvent recordedEvent, string type, Headers headers)
    {
        if (!KafkaDiagnostics.ActivitySource.HasListeners())
        {
            return null;
        }

        var previous = Activity.Current;
        var creation = CreationContext(recordedEvent);
        var (parent, links) = ParentAndLinks(previous?.Context, creation);
        var activity = KafkaDiagnostics.ActivitySource.StartActivity("send " + recordedEvent.Topic, ActivityKind.Producer, parent, CommonTags(recordedEvent, type, "send"), links);
        Activity.Current = previous;
        if (activity is not null)
        {
            DistributedContextPropagator.Current.Inject(activity, headers, static (carrier, name, value) =>
            {
                var target = (Headers)carrier!;
                target.Remove(name);
                target.Add(name, Encoding.UTF8.GetBytes(value));
            });
        }

        return activity;
    }

    /// <summary>
    /// Starts the Consumer span of one handled record, as <see cref="Activity.Current"/>: child of the send's transport
    /// context (else of the creation context), linked to the creation context.
    /// </summary>
    public static Activity? StartProcess(RecordedEvent recordedEvent, ConsumeResult<byte[]?, byte[]?> result, string groupId)
    {
        if (!KafkaDiagnostics.ActivitySource.HasListeners())
        {
            return null;
        }

        var transport = TransportContext(result.Message.Headers);
        var (parent, links) = ParentAndLinks(transport, CreationContext(recordedEvent));
        var tags = CommonTags(recordedEvent, recordedEvent.Type, "process");
        tags.Add(new("messaging.consumer.group.name", groupId));
        tags.Add(new("messaging.destination.partition.id", result.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        tags.Add(new("messaging.kafka.offset", result.Offset.Value));
        return KafkaDiagnostics.ActivitySource.StartActivity("process " + result.Topic, ActivityKind.Consumer, parent, tags, links);
    }

    /// <summary>Records where the broker put the record.</summary>
    public static void Acknowledged(Activity activity, Partition partition, Offset offset)
    {
        activity.SetTag("messaging.destination.partition.id", partition.Value.ToString(CultureInfo.InvariantCulture));
        activity.SetTag("messaging.kafka.offset", offset.Value);
    }

    /// <summary>Marks the span failed: status Error, <c>error.type</c>, and an <c>exception</c> event.</summary>
    public static void Failed(Activity activity, string errorType, Exception? exception, string description)
    {
        activity.SetStatus(ActivityStatusCode.Error, description);
        activity.SetTag("error.type", errorType);
        if (exception is not null)
        {
            activity.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
            {
                ["exception.type"] = exception.GetType().FullName,
                ["exception.message"] = exception.Message,
            }));
        }
    }

    /// <summary>
    /// Ends a span on whatever thread learns the outcome (librdkafka's delivery thread, say) without changing that
    /// thread's <see cref="Activity.Current"/>: <see cref="Activity.Stop"/> alone would set it to the span's parent.
    /// </summary>
    public static void Stop(Activity activity)
    {
        var current = Activity.Current;
        activity.Stop();
        Activity.Current = current;
    }

    /// <summary>The event's creation context (<see cref="RecordedEvent.TraceParent"/>), or null when it has none or it does not parse.</summary>
    public static ActivityContext? CreationContext(RecordedEvent recordedEvent) =>
        recordedEvent.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, recordedEvent.TraceState, isRemote: true, out var context)
            ? context
            : null;

    private static ActivityContext? TransportContext(Headers? headers)
    {
        if (headers is null)
        {
            return null;
        }

        DistributedContextPropagator.Current.ExtractTraceIdAndState(headers, static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            values = null;
            value = ((Headers)carrier!).TryGetLastBytes(name, out var bytes) && bytes is not null ? Encoding.UTF8.GetString(bytes) : null;
        }, out var traceParent, out var traceState);
        return traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context) ? context : null;
    }

    private static (ActivityContext Parent, ActivityLink[]? Links) ParentAndLinks(ActivityContext? parent, ActivityContext? creation)
    {
        if (parent is not { } chosen)
        {
            return (creation ?? default, null);
        }

        return creation is { } origin && origin.SpanId != chosen.SpanId ? (chosen, [new ActivityLink(origin)]) : (chosen, null);
    }

    private static List<KeyValuePair<string, object?>> CommonTags(RecordedEvent recordedEvent, string? type, string operation)
    {
        var tags = new List<KeyValuePair<string, object?>>(10)
        {
            new("messaging.system", "kafka"),
            new("messaging.operation.name", operation),
            new("messaging.operation.type", operation),
            new("messaging.destination.name", recordedEvent.Topic),
            new("messaging.message.id", recordedEvent.EventId.ToString()),
        };
        if (recordedEvent.Key is { } key)
        {
            tags.Add(new("messaging.kafka.message.key", key));
        }

        if (type is not null)
        {
            tags.Add(new("cloudevents.event_type", type));
        }

        return tags;
    }
}
