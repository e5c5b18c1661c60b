using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The publish pipeline's instruments, the one set of publish metrics (live appends, catch-up, replays and repairs
/// alike), on the shared <c>EventSourcing.SystemOfRecord</c> meter. Gauges report every running pipeline, tagged with its instance.
/// </summary>
internal static class PublishDiagnostics
{
    private static readonly ConcurrentDictionary<PublishPipeline, byte> Running = new();

    private static readonly Counter<long> EventsPublished =
        SystemOfRecordDiagnostics.Meter.CreateCounter<long>("sor.publish.events", "{event}", "Events the publisher acknowledged (sor.publish.source: live or replay).");

    private static readonly Counter<long> Failures =
        SystemOfRecordDiagnostics.Meter.CreateCounter<long>("sor.publish.failures", "{attempt}", "Publish attempts that failed (sor.publish.transient: retried or refused for good).");

    private static readonly Counter<long> ParkedEvents =
        SystemOfRecordDiagnostics.Meter.CreateCounter<long>("sor.publish.parked", "{event}", "Events refused for good and parked, so the cursor moves on.");

    private static readonly Histogram<double> Duration =
        SystemOfRecordDiagnostics.Meter.CreateHistogram<double>("sor.publish.duration", "s", "From the store's commit to the publisher's acknowledgement, per appended event.");

    private static readonly KeyValuePair<string, object?> Live = new("sor.publish.source", "live");
    private static readonly KeyValuePair<string, object?> Replay = new("sor.publish.source", "replay");
    private static readonly KeyValuePair<string, object?> Transient = new("sor.publish.transient", true);
    private static readonly KeyValuePair<string, object?> Permanent = new("sor.publish.transient", false);

    static PublishDiagnostics()
    {
        SystemOfRecordDiagnostics.Meter.CreateObservableGauge(
            "sor.publish.lag",
            () => Running.Keys.Select(p => new Measurement<double>(p.Lag.TotalSeconds, Instance(p))),
            "s",
            "How long the oldest unpublished event of the instance has waited since it was appended.");
        SystemOfRecordDiagnostics.Meter.CreateObservableGauge(
            "sor.publish.in_flight",
            () => Running.Keys.Select(p => new Measurement<int>(p.Status().InFlight, Instance(p))),
            "{event}",
            "Events handed to the publisher and not yet acknowledged.");
        SystemOfRecordDiagnostics.Meter.CreateObservableGauge(
            "sor.publish.backlog",
            () => Running.Keys.Select(p => new Measurement<int>(p.Status().Backlog, Instance(p))),
            "{event}",
            "Events of the instance issued and not yet past its publish cursor.");
    }

    public static void Register(PublishPipeline pipeline) => Running.TryAdd(pipeline, 0);

    public static void Unregister(PublishPipeline pipeline) => Running.TryRemove(pipeline, out _);

    public static void Published(bool live, TimeSpan? sinceCommit)
    {
        EventsPublished.Add(1, live ? Live : Replay);
        if (sinceCommit is { } duration)
        {
            Duration.Record(duration.TotalSeconds);
        }
    }

    public static void Failed(bool transient) => Failures.Add(1, transient ? Transient : Permanent);

    public static void EventParked() => ParkedEvents.Add(1);

    private static KeyValuePair<string, object?> Instance(PublishPipeline pipeline) => new("sor.instance", pipeline.InstanceName);
}
