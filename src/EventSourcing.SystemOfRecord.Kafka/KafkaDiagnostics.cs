using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// The producer and consumer spans' activity source, named <c>EventSourcing.SystemOfRecord</c> like the core's, and what
/// the Kafka instruments (<see cref="KafkaInstruments"/>) share.
/// </summary>
internal static class KafkaDiagnostics
{
    public const string Name = SystemOfRecordDiagnostics.Name;

    /// <summary>The source of the producer and consumer spans.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    public static KeyValuePair<string, object?> Topic(string topic) => new("topic", topic);
}

/// <summary>The Kafka package's instruments, on the family's one meter (<c>EventSourcing.SystemOfRecord</c>), tagged with the topic.</summary>
internal sealed class KafkaInstruments
{
    private KafkaInstruments(Meter meter)
    {
        RecordsAcknowledged = meter.CreateCounter<long>("sor.kafka.records.acknowledged", "{record}", "Records Kafka acknowledged (acks=all).");
        PublishFailures = meter.CreateCounter<long>("sor.kafka.publish.failures", "{record}", "Records Kafka did not acknowledge.");
        Transactions = meter.CreateCounter<long>("sor.kafka.transactions", "{transaction}", "Exactly-once transactions that ended; tag outcome: committed, aborted or fenced.");
        EventsHandled = meter.CreateCounter<long>("sor.kafka.consumer.handled", "{event}", "Events the consumer's handler completed, duplicates included.");
        HandlerFailures = meter.CreateCounter<long>("sor.kafka.consumer.handler_failures", "{event}", "Handler calls that threw; the event is retried, then goes to the failure policy.");
        PoisonRecords = meter.CreateCounter<long>("sor.kafka.consumer.poison_records", "{record}", "Records that are not events, skipped or stopped at.");
        EventsDeadLettered = meter.CreateCounter<long>("sor.kafka.consumer.dead_lettered", "{event}", "Events sent to the dead-letter topic (handler failed after its retries, or an unknown type).");
        EventsSkipped = meter.CreateCounter<long>("sor.kafka.consumer.skipped", "{event}", "Events committed past without a handler success; tag reason: handler_failed or unknown_type.");
        HandleDuration = SystemOfRecordMetrics.CreateSecondsHistogram(meter, "sor.kafka.consumer.handle.duration", "How long one event took from delivery to its outcome, retries included; tag outcome.");
    }

    public Counter<long> RecordsAcknowledged { get; }

    public Counter<long> PublishFailures { get; }

    public Counter<long> Transactions { get; }

    public Counter<long> EventsHandled { get; }

    public Counter<long> HandlerFailures { get; }

    public Counter<long> PoisonRecords { get; }

    public Counter<long> EventsDeadLettered { get; }

    public Counter<long> EventsSkipped { get; }

    public Histogram<double> HandleDuration { get; }

    /// <summary>The instruments on the container's meter (<paramref name="meterFactory"/>), or on the process-wide one.</summary>
    public static KafkaInstruments For(IMeterFactory? meterFactory) => SystemOfRecordMetrics.For(meterFactory).Instruments(static m => new KafkaInstruments(m));
}
