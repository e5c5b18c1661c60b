using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Guarantees;

/// <summary>
/// Issue 5's fault test for reconciliation, over the Kafka wire protocol against the mock cluster: the broker loses
/// acknowledged records, <see cref="SystemOfRecord.ReconcileAsync(DateTime, DateTime, Func{DateTime, CancellationToken, IAsyncEnumerable{TimeUuid}}, IProgress{ReplayProgress}?, CancellationToken)"/>
/// finds exactly those, and republishing the report makes the downstream whole.
/// </summary>
[TestFixture]
public sealed class ReconciliationGuaranteeTests : GuaranteeFixture
{
    private const int Events = 3_000;

    [Test]
    public async Task ReconcileAsync_RecordsDeletedOnBroker_FindsExactlyThoseAndRepublishMakesConsumerWhole()
    {
        var topic = KafkaTestSettings.NewTopic("deleted");
        Cluster.CreateTopic(topic, Partitions);
        await using var app = await RecordingApp.StartAsync(new RecordingAppSettings(Folder.File("events.db"), Cluster.BootstrapServers, topic));
        var sor = app.System;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Events)
            {
                await sor.AppendAsync($"{{\"n\":{i}}}", key: $"key-{i % 32}");
            }
        })));

        // Every event is acknowledged; then the broker loses the head of two partitions' logs.
        var published = TopicReader.ReadAll(Cluster.BootstrapServers, topic, Partitions);
        Assert.That(published, Has.Count.EqualTo(Events));
        var marks = TopicReader.Watermarks(Cluster.BootstrapServers, topic, Partitions);
        var cuts = new[] { marks[0].High / 2, marks[1].High / 3, 0 };
        Cluster.DeleteRecords(topic, 0, cuts[0]);
        Cluster.DeleteRecords(topic, 1, cuts[1]);
        var deleted = published.Where(r => r.Offset < cuts[r.Partition]).Select(r => TimeUuid.Parse(r.Header("ce_id")!)).ToHashSet();
        Assert.That(deleted, Has.Count.EqualTo(cuts.Sum()).And.Count.GreaterThan(0));

        // A downstream that starts now reads what the broker still holds.
        await using var consumer = await IdempotentConsumer.StartAsync(Cluster, topic);
        var survivors = Events - deleted.Count;
        await Eventually.UntilAsync(() => consumer.Deliveries >= survivors, $"the consumer read the {survivors} surviving records", TimeSpan.FromSeconds(60));

        var stored = await StoreContents.ReadAllAsync(app.Store);
        var from = sor.GetBucket(stored[0].Timestamp);
        var to = sor.GetBucket(stored[^1].Timestamp).Add(sor.BucketIncrement);
        var report = await sor.ReconcileAsync(from, to, consumer.IdsInBucket(sor));

        Assert.Multiple(() =>
        {
            Assert.That(consumer.AppliedCount, Is.EqualTo(survivors));
            Assert.That(report.StoredEvents, Is.EqualTo(Events));
            Assert.That(report.DownstreamEvents, Is.EqualTo(survivors));
            Assert.That(report.MissingCount, Is.EqualTo(deleted.Count), "missing == the deleted records");
            Assert.That(report.Differences.SelectMany(d => d.Missing).Order(), Is.EqualTo(deleted.Order()), "exactly the deleted ids");
            Assert.That(report.UnexpectedCount, Is.Zero, "nothing unexpected");
        });

        var republished = await sor.RepublishAsync(report);
        await Eventually.UntilAsync(() => consumer.AppliedCount >= Events, $"the consumer applied all {Events} events", TimeSpan.FromSeconds(60));
        var records = StoreContents.RecordsOnTopic(Cluster, topic, Partitions);
        await Eventually.UntilAsync(() => consumer.Deliveries >= records, $"the consumer read all {records} records", TimeSpan.FromSeconds(60));
        var after = await sor.ReconcileAsync(from, to, consumer.IdsInBucket(sor));

        Assert.Multiple(() =>
        {
            Assert.That(republished, Is.EqualTo(deleted.Count), "only the missing events were sent again");
            Assert.That(records, Is.EqualTo(Events), "survivors plus the republished: each event on the topic once");
            Assert.That(consumer.AppliedCount, Is.EqualTo(Events));
            Assert.That(consumer.Applied.Keys.Order(), Is.EqualTo(stored.Select(e => e.EventId).Order()));
            Assert.That(consumer.Applied.Values.Max(), Is.EqualTo(1), "no event applied twice");
            Assert.That(consumer.Handler.DuplicateCount, Is.EqualTo(consumer.Deliveries - Events));
            Assert.That(after.IsConsistent, Is.True, "a second reconciliation finds nothing missing");
        });
    }
}
