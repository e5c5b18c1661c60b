using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The one meter of the system of record, named <c>EventSourcing.SystemOfRecord</c>, and the core's instruments on it.
/// With dependency injection the meter comes from the container's <see cref="IMeterFactory"/> (which hands the same
/// meter to every package of the family, and a new one to each container); without, one meter serves the process.
/// The provider packages hang their own instrument sets on the same meter through <see cref="Instruments{T}"/>.
/// </summary>
internal sealed class SystemOfRecordMetrics
{
    private static readonly Meter SharedMeter = new(SystemOfRecordDiagnostics.Name);
    private static readonly ConditionalWeakTable<Meter, SystemOfRecordMetrics> ByMeter = new();

    private readonly ConcurrentDictionary<Type, object> _instrumentSets = new();
    private readonly ConcurrentDictionary<PublishPipeline, byte> _pipelines = new();
    private readonly Counter<long> _eventsAppended;
    private readonly Histogram<double> _appendDuration;
    private readonly Counter<long> _eventsPublished;
    private readonly Counter<long> _publishFailures;
    private readonly Counter<long> _eventsParked;
    private readonly Histogram<double> _publishDuration;

    private static readonly KeyValuePair<string, object?> Live = new("sor.publish.source", "live");
    private static readonly KeyValuePair<string, object?> Replay = new("sor.publish.source", "replay");
    private static readonly KeyValuePair<string, object?> Transient = new("sor.publish.transient", true);
    private static readonly KeyValuePair<string, object?> Permanent = new("sor.publish.transient", false);

    /// <summary>Bucket boundaries for duration histograms in seconds, 1 ms to 60 s (the SDK's default ones fit milliseconds).</summary>
    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

    private SystemOfRecordMetrics(Meter meter)
    {
        Meter = meter;
        _eventsAppended = meter.CreateCounter<long>("sor.events.appended", "{event}", "Events recorded in the store.");
        _appendDuration = CreateSecondsHistogram(meter, "sor.append.duration", "How long an append took: the store write, and the publish in PublishMode.Acknowledged.");
        _eventsPublished = meter.CreateCounter<long>("sor.publish.events", "{event}", "Events the publisher acknowledged (sor.publish.source: live or replay).");
        _publishFailures = meter.CreateCounter<long>("sor.publish.failures", "{attempt}", "Publish attempts that failed (sor.publish.transient: retried or refused for good).");
        _eventsParked = meter.CreateCounter<long>("sor.publish.parked", "{event}", "Events refused for good and parked, so the cursor moves on.");
        _publishDuration = CreateSecondsHistogram(meter, "sor.publish.duration", "From the store's commit to the publisher's acknowledgement, per appended event.");
        BucketsReplayed = meter.CreateCounter<long>("sor.replay.buckets", "{bucket}", "Buckets handed to a replay strategy.");
        EventsReplayed = meter.CreateCounter<long>("sor.replay.events", "{event}", "Events delivered by managed replays.");
        EventsReloaded = meter.CreateCounter<long>("sor.reload.events", "{event}", "Events applied to projections by reloads.");
        MissingFound = meter.CreateCounter<long>("sor.reconcile.missing", "{event}", "Stored events a reconciliation found missing downstream.");
        UnexpectedFound = meter.CreateCounter<long>("sor.reconcile.unexpected", "{event}", "Downstream ids a reconciliation found absent from the store.");
        meter.CreateObservableGauge(
            "sor.publish.lag",
            () => _pipelines.Keys.Select(p => new Measurement<double>(p.Lag.TotalSeconds, InstanceTag(p))),
            "s",
            "How long the oldest unpublished event of the instance has waited since it was appended.");
        meter.CreateObservableGauge(
            "sor.publish.in_flight",
            () => _pipelines.Keys.Select(p => new Measurement<int>(p.Status().InFlight, InstanceTag(p))),
            "{event}",
            "Events handed to the publisher and not yet acknowledged.");
        meter.CreateObservableGauge(
            "sor.publish.backlog",
            () => _pipelines.Keys.Select(p => new Measurement<int>(p.Status().Backlog, InstanceTag(p))),
            "{event}",
            "Events of the instance issued and not yet past its publish cursor.");
    }

    /// <summary>The meter: the container's when a meter factory was given, else the process-wide one.</summary>
    public Meter Meter { get; }

    public Counter<long> BucketsReplayed { get; }

    public Counter<long> EventsReplayed { get; }

    public Counter<long> EventsReloaded { get; }

    public Counter<long> MissingFound { get; }

    public Counter<long> UnexpectedFound { get; }

    /// <summary>The metrics on the meter <paramref name="meterFactory"/> makes (one per container), or on the process-wide meter.</summary>
    public static SystemOfRecordMetrics For(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(new MeterOptions(SystemOfRecordDiagnostics.Name)) ?? SharedMeter;
        return ByMeter.GetValue(meter, static m => new SystemOfRecordMetrics(m));
    }

    /// <summary>A provider package's instrument set on this meter, created once.</summary>
    public T Instruments<T>(Func<Meter, T> create)
        where T : class =>
        (T)_instrumentSets.GetOrAdd(typeof(T), static (_, state) => state.Create(state.Meter), (Create: create, Meter))!;

    public void Appended() => _eventsAppended.Add(1);

    public void AppendCompleted(TimeSpan duration) => _appendDuration.Record(duration.TotalSeconds);

    public void Published(bool live, TimeSpan? sinceCommit)
    {
        _eventsPublished.Add(1, live ? Live : Replay);
        if (sinceCommit is { } duration)
        {
            _publishDuration.Record(duration.TotalSeconds);
        }
    }

    /// <summary><paramref name="count"/> replayed events published at once (their publish durations are not recorded).</summary>
    public void Published(bool live, int count) => _eventsPublished.Add(count, live ? Live : Replay);

    public void PublishFailed(bool transient) => _publishFailures.Add(1, transient ? Transient : Permanent);

    public void Parked() => _eventsParked.Add(1);

    /// <summary>The gauges report <paramref name="pipeline"/> until <see cref="Unregister"/>.</summary>
    public void Register(PublishPipeline pipeline) => _pipelines.TryAdd(pipeline, 0);

    public void Unregister(PublishPipeline pipeline) => _pipelines.TryRemove(pipeline, out _);

    private static KeyValuePair<string, object?> InstanceTag(PublishPipeline pipeline) => new("sor.instance", pipeline.InstanceName);

    /// <summary>A duration histogram in seconds; from .NET 9 on it advises buckets that fit seconds rather than milliseconds.</summary>
    internal static Histogram<double> CreateSecondsHistogram(Meter meter, string name, string description) =>
#if NET9_0_OR_GREATER
        meter.CreateHistogram(name, "s", description, tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
#else
        meter.CreateHistogram<double>(name, "s", description);
#endif
}
