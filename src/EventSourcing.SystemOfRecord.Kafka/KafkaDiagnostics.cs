using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>Kafka counters on the meter named <c>EventSourcing.SystemOfRecord</c>, like the core's; tagged with the topic.</summary>
internal static class KafkaDiagnostics
{
    public static readonly Meter Meter = new("EventSourcing.SystemOfRecord");

    public static readonly Counter<long> RecordsAcknowledged =
        Meter.CreateCounter<long>("sor.kafka.records.acknowledged", "{record}", "Records Kafka acknowledged (acks=all).");

    public static readonly Counter<long> PublishFailures =
        Meter.CreateCounter<long>("sor.kafka.publish.failures", "{record}", "Records Kafka did not acknowledge.");

    public static readonly Counter<long> EventsHandled =
        Meter.CreateCounter<long>("sor.kafka.consumer.handled", "{event}", "Events the consumer's handler completed, duplicates included.");

    public static readonly Counter<long> HandlerFailures =
        Meter.CreateCounter<long>("sor.kafka.consumer.handler_failures", "{event}", "Handler calls that threw; the event is delivered again.");

    public static readonly Counter<long> PoisonRecords =
        Meter.CreateCounter<long>("sor.kafka.consumer.poison_records", "{record}", "Records that are not events, skipped or stopped at.");

    public static KeyValuePair<string, object?> Topic(string topic) => new("topic", topic);
}
