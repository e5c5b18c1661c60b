using System.Diagnostics;
using EventSourcing.SystemOfRecord;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace OrdersWorker;

/// <summary>The producing side: places orders, each in a trace of its own, and records their events in the system of record.</summary>
internal sealed partial class OrderDesk(SystemOfRecord system, Progress progress, ILogger<OrderDesk> logger) : BackgroundService
{
    public static readonly ActivitySource Source = new("OrdersWorker");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var n = 1; n <= progress.Orders && !stoppingToken.IsCancellationRequested; n++)
        {
            var orderId = $"order-{n}";

            // The event stores this span's context: the consumer's spans join its trace, and a replay links back to it.
            using var activity = Source.StartActivity("PlaceOrder");
            activity?.SetTag("order.id", orderId);
            await system.AppendAsync(new OrderPlaced(orderId, 10m * n), key: orderId, cancellationToken: stoppingToken);
            await system.AppendAsync(new OrderShipped(orderId, n % 2 == 0 ? "ups" : "dhl"), key: orderId, cancellationToken: stoppingToken);
            progress.Placed(orderId, activity?.TraceId);
            Log.Placed(logger, orderId, activity?.TraceId.ToString() ?? "none");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Placed and shipped {OrderId} in trace {TraceId}: both events recorded in SQLite and acknowledged by Kafka.")]
        public static partial void Placed(ILogger logger, string orderId, string traceId);
    }
}
