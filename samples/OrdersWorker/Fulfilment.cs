using System.Diagnostics;
using EventSourcing.SystemOfRecord.Kafka;
using Microsoft.Extensions.Logging;

namespace OrdersWorker;

/// <summary>The consuming side: typed handlers, run once per event id (the processed-event log is a SQLite file).</summary>
internal static partial class Fulfilment
{
    public static ValueTask OnPlacedAsync(OrderPlaced placed, KafkaEventContext context, CancellationToken cancellationToken)
    {
        var progress = Resolve<Progress>(context);
        Log.Handled(Resolve<ILogger<Progress>>(context), "OrderPlaced", placed.OrderId, context.Partition, context.Offset, Activity.Current?.TraceId.ToString() ?? "none");
        progress.Handled(placed.OrderId, Activity.Current?.TraceId);
        return ValueTask.CompletedTask;
    }

    public static ValueTask OnShippedAsync(OrderShipped shipped, KafkaEventContext context, CancellationToken cancellationToken)
    {
        var progress = Resolve<Progress>(context);
        Log.Handled(Resolve<ILogger<Progress>>(context), "OrderShipped", shipped.OrderId, context.Partition, context.Offset, Activity.Current?.TraceId.ToString() ?? "none");
        progress.Handled(shipped.OrderId, Activity.Current?.TraceId);
        return ValueTask.CompletedTask;
    }

    private static T Resolve<T>(KafkaEventContext context)
        where T : notnull =>
        (T)(context.Services.GetService(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T)} is not registered."));

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Information, "Handled {EventType} of {OrderId} from partition {Partition} @{Offset} in trace {TraceId}.")]
        public static partial void Handled(ILogger logger, string eventType, string orderId, int partition, long offset, string traceId);
    }
}
