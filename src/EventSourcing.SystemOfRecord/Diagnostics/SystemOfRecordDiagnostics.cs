using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The meter and activity source, both named <c>EventSourcing.SystemOfRecord</c>, that OpenTelemetry
/// (or dotnet-counters) picks up without a dependency.
/// </summary>
internal static class SystemOfRecordDiagnostics
{
    public const string Name = "EventSourcing.SystemOfRecord";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> EventsAppended =
        Meter.CreateCounter<long>("sor.events.appended", "{event}", "Events recorded in the store.");

    public static readonly Histogram<double> AppendDuration =
        Meter.CreateHistogram<double>("sor.append.duration", "s", "How long an append took: the store write, and the publish in PublishMode.Acknowledged.");

    public static readonly Counter<long> BucketsReplayed =
        Meter.CreateCounter<long>("sor.replay.buckets", "{bucket}", "Buckets handed to a replay strategy.");
}
