using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Guarantees;

/// <summary>
/// Issue 9's record checks, over the Kafka wire protocol against the mock cluster: what Kafka can never take is
/// refused before anything is written, and what a broker refuses for good is parked without holding up the rest.
/// </summary>
[TestFixture]
public sealed class PublishPipelineGuaranteeTests : GuaranteeFixture
{
    private const int MessageTooLarge = 10;

    [Test]
    public async Task AppendAsync_RecordOverTheProducersLimit_RefusedBeforeAnythingIsWritten()
    {
        var topic = KafkaTestSettings.NewTopic("limits");
        Cluster.CreateTopic(topic, Partitions);
        var (system, publisher, store) = KafkaTestSettings.CreateSystem(KafkaTestSettings.Publisher(Cluster), topic);
        await using var _ = publisher;
        await using var __ = system;

        Assert.Multiple(() =>
        {
            Assert.That(publisher.Limits.MaxRecordBytes, Is.LessThan(1_000_000), "message.max.bytes less the publisher's own headers");
            Assert.That(async () => await system.AppendAsync("{}", key: new string('k', 2_000_000)), Throws.ArgumentException.With.Message.Contains("publisher takes at most"));
            Assert.That(async () => await system.AppendAsync(new string('m', 999_000)), Throws.ArgumentException.With.Message.Contains("publisher takes at most"));
            Assert.That(store.Count, Is.Zero);
        });
    }

    [Test]
    public async Task AppendAsync_BrokerRefusesARecordForGood_ItIsParkedAndTheOthersArePublishedOnce()
    {
        var topic = KafkaTestSettings.NewTopic("parked");
        Cluster.CreateTopic(topic, partitions: 1);
        var publisher = new KafkaEventPublisher(Options.Create(KafkaTestSettings.Publisher(Cluster)));
        var store = new InMemoryEventStore();
        await using var _ = publisher;
        await using var system = new SystemOfRecord(store, publisher, Options.Create(new SystemOfRecordOptions
        {
            DefaultTopic = topic,
            BucketIncrement = TimeSpan.FromSeconds(1),
            PublishMode = PublishMode.Committed,
        }));
        var before = await system.AppendAsync("{\"n\":0}", key: "k");
        await system.WhenPublishedAsync(before);

        // The broker answers the next produce request with MESSAGE_TOO_LARGE: librdkafka does not retry it.
        Cluster.PushRequestErrors(KafkaMockCluster.ProduceApiKey, MessageTooLarge);
        var refused = await system.AppendAsync("{\"n\":1}", key: "k");
        Assert.That(async () => await system.WhenPublishedAsync(refused), Throws.TypeOf<EventPublishException>().With.Property("RecoveryScheduled").False);
        var after = new List<RecordedEvent>();
        for (var i = 2; i < 12; i++)
        {
            after.Add(await system.AppendAsync($"{{\"n\":{i}}}", key: "k"));
        }

        await system.WhenPublishedAsync(after[^1]);
        var onTopic = TopicReader.ReadAll(Cluster.BootstrapServers, topic, 1).Select(r => r.Header("ce_id")).ToList();
        var parked = new List<ParkedEvent>();
        await foreach (var p in system.GetParkedEventsAsync())
        {
            parked.Add(p);
        }

        Assert.Multiple(() =>
        {
            Assert.That(onTopic, Is.EqualTo(after.Prepend(before).Select(e => e.EventId.ToString())), "the others once each, in order; the refused one not at all");
            Assert.That(parked.Select(p => p.EventId), Is.EqualTo(new[] { refused.EventId }));
            Assert.That(parked[0].Reason, Does.Contain("MsgSizeTooLarge").Or.Contain("too large").IgnoreCase);
            Assert.That(system.GetPublishStatus().Cursor, Is.EqualTo(after[^1].EventId));
            Assert.That(store.Count, Is.EqualTo(12), "the refused event stays in the store, for a republish once the cause is fixed");
        });
    }
}
