using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Subscribes OpenTelemetry to the system of record's spans and metrics. Every package of the family (the core, the
/// stores, Kafka) writes to one <see cref="System.Diagnostics.ActivitySource"/> and one
/// <see cref="System.Diagnostics.Metrics.Meter"/>, both named <see cref="TelemetryName"/>; this package needs none of them.
/// </summary>
public static class SystemOfRecordInstrumentationExtensions
{
    /// <summary>The name of the activity source and of the meter: <c>EventSourcing.SystemOfRecord</c>.</summary>
    public const string TelemetryName = "EventSourcing.SystemOfRecord";

    /// <summary>
    /// Records the system of record's spans: <c>sor.append</c>, <c>sor.replay</c>, <c>sor.republish</c>, the Kafka
    /// Producer span <c>send &lt;topic&gt;</c> and Consumer span <c>process &lt;topic&gt;</c>. The same as <c>AddSource("EventSourcing.SystemOfRecord")</c>.
    /// </summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder.</returns>
    public static TracerProviderBuilder AddSystemOfRecordInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(TelemetryName);
    }

    /// <summary>
    /// Records the system of record's metrics (counters of appends, publishes, replays and consumer outcomes; duration
    /// histograms in seconds). The same as <c>AddMeter("EventSourcing.SystemOfRecord")</c>.
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// On .NET 9 and later the duration histograms advise bucket boundaries from 1 ms to 60 s. An application on .NET 8
    /// gets the SDK's default boundaries, made for milliseconds; give it seconds with a view, for example
    /// <c>.AddView("sor.kafka.consumer.handle.duration", new ExplicitBucketHistogramConfiguration { Boundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60] })</c>.
    /// </remarks>
    public static MeterProviderBuilder AddSystemOfRecordInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(TelemetryName);
    }
}
