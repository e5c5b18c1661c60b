using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// Kafka instruments on the meter named <c>EventSourcing.SystemOfRecord</c>, like the core's, tagged with the topic;
/// and the producer and consumer spans, on the activity source of the same name.
/// </summary>
internal static class KafkaDiagnostics
{
    public const string Name = "EventSourcing.SystemOfRecord";

    /// <summary>Bucket boundaries for durations in seconds, from 1 ms to 1 minute (the OpenTelemetry HTTP duration buckets, extended). Declared first: the histograms below read it.</summary>
    internal static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> RecordsAcknowledged =
        Meter.CreateCounter<long>("sor.kafka.records.acknowledged", "{record}", "Records Kafka acknowledged (acks=all).");

    public static readonly Counter<long> PublishFailures =
        Meter.CreateCounter<long>("sor.kafka.publish.failures", "{record}", "Records Kafka did not acknowledge.");

    public static readonly Counter<long> Transactions =
        Meter.CreateCounter<long>("sor.kafka.transactions", "{transaction}", "Exactly-once transactions that ended; tag outcome: committed, aborted or fenced.");

    public static readonly Counter<long> EventsHandled =
        Meter.CreateCounter<long>("sor.kafka.consumer.handled", "{event}", "Events the consumer's handler completed, duplicates included.");

    public static readonly Counter<long> HandlerFailures =
        Meter.CreateCounter<long>("sor.kafka.consumer.handler_failures", "{event}", "Handler calls that threw; the event is retried, then goes to the failure policy.");

    public static readonly Counter<long> PoisonRecords =
        Meter.CreateCounter<long>("sor.kafka.consumer.poison_records", "{record}", "Records that are not events, skipped or stopped at.");

    public static readonly Counter<long> EventsDeadLettered =
        Meter.CreateCounter<long>("sor.kafka.consumer.dead_lettered", "{event}", "Events sent to the dead-letter topic (handler failed after its retries, or an unknown type).");

    public static readonly Counter<long> EventsSkipped =
        Meter.CreateCounter<long>("sor.kafka.consumer.skipped", "{event}", "Events committed past without a handler success; tag reason: handler_failed or unknown_type.");

    public static readonly Histogram<double> HandleDuration = CreateSecondsHistogram(
        "sor.kafka.consumer.handle.duration", "How long one event took from delivery to its outcome, retries included; tag outcome.");

    public static KeyValuePair<string, object?> Topic(string topic) => new("topic", topic);

    /// <summary>A duration histogram in seconds; from .NET 9 on it advises buckets that fit seconds rather than milliseconds.</summary>
    internal static Histogram<double> CreateSecondsHistogram(string name, string description) =>
#if NET9_0_OR_GREATER
        Meter.CreateHistogram(name, "s", description, tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
#else
        Meter.CreateHistogram<double>(name, "s", description);
#endif
}
