using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Guarantees;

/// <summary>
/// Issue 9's exactly-once contract, over the Kafka wire protocol against the mock cluster, with the SQLite store and
/// publish recovery: a <c>read_committed</c> consumer sees every stored event once, in per-key order; a second process
/// with the same instance name fences the first; a record Kafka refuses for good is parked and the others pass once.
/// Visibility is judged by <see cref="CommittedLogReader"/> (Kafka's <c>read_committed</c> rule over the raw log) and,
/// where no transaction was aborted, by a plain Confluent consumer too.
/// </summary>
[TestFixture]
public sealed class ExactlyOnceGuaranteeTests : GuaranteeFixture
{
    [Test]
    public async Task CommittedMode_ManyConcurrentAppends_ReadCommittedSeesEveryStoredEventOnceInKeyOrder()
    {
        const int Appenders = 32;
        const int EventsEach = 150;
        var (topic, cursors) = CreateTopics();
        PublishStatus status;
        List<RecordedEvent> stored;
        await using (var app = await RecordingApp.StartAsync(Settings(Folder.File("events.db"), topic, cursors)))
        {
            await Task.WhenAll(Enumerable.Range(0, Appenders).Select(a => Task.Run(async () =>
            {
                for (var i = 0; i < EventsEach; i++)
                {
                    await app.System.AppendAsync($"{{\"appender\":{a},\"n\":{i}}}", key: $"key-{a % 8}");
                }
            })));
            stored = await StoreContents.ReadAllAsync(app.Store);
            var last = stored.Max(e => e.EventId);
            await Eventually.UntilAsync(() => app.System.GetPublishStatus() is { Backlog: 0 } s && s.Cursor >= last, "the pipeline published every stored event", TimeSpan.FromSeconds(60));
            status = app.System.GetPublishStatus();
        }

        var log = CommittedLogReader.Read(Cluster.BootstrapServers, topic);
        var consumerView = TopicReader.ReadAll(Cluster.BootstrapServers, topic, Partitions); // Confluent, read_committed (librdkafka's default)
        var cursorRecords = CommittedLogReader.Read(Cluster.BootstrapServers, cursors).Committed;
        TestContext.Progress.WriteLine($"{stored.Count} stored events, {log.Committed.Count} committed records in {cursorRecords.Count} transactions, {log.Aborted + log.Open} not committed");

        Assert.Multiple(() =>
        {
            Assert.That(stored, Has.Count.EqualTo(Appenders * EventsEach));
            Assert.That(log.Committed.Select(Id).Order(), Is.EqualTo(stored.Select(e => e.EventId).Order()), "every stored event once");
            Assert.That(consumerView.Select(Id).Order(), Is.EqualTo(stored.Select(e => e.EventId).Order()), "a Confluent read_committed consumer sees the same");
            Assert.That(cursorRecords[^1].Key, Is.EqualTo(RecordingApp.InstanceName));
            Assert.That(cursorRecords[^1].Value, Is.EqualTo(status.Cursor.ToString()), "the cursor topic holds the pipeline's last cursor");
            Assert.That(cursorRecords, Has.Count.LessThan(stored.Count / 2), "events travel in batches, not one transaction each");
        });
        AssertKeyOrder(log.Committed);
    }

    [Test]
    public async Task AcknowledgedMode_AppendReturns_OnceItsTransactionCommitted()
    {
        var (topic, cursors) = CreateTopics();
        await using var app = await RecordingApp.StartAsync(Settings(Folder.File("events.db"), topic, cursors) with { Mode = PublishMode.Acknowledged });

        var appended = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => app.System.AppendAsync($"{{\"n\":{i}}}", key: $"key-{i % 5}").AsTask()));
        var log = CommittedLogReader.Read(Cluster.BootstrapServers, topic); // read at once: no waiting

        Assert.That(log.Committed.Select(Id).Order(), Is.EqualTo(appended.Select(e => e.EventId).Order()), "each returned append is committed on the topic, once");
    }

    [Test]
    public async Task SameInstanceNameStartedTwice_TheFirstIsFencedForGoodAndNothingOfItsFailedTransactionIsVisible()
    {
        var (topic, cursors) = CreateTopics();

        // Different stores, so the store's lease on the instance name does not stop the second: only Kafka's fencing is left.
        await using var zombie = await RecordingApp.StartAsync(Settings(Folder.File("zombie.db"), topic, cursors));
        var before = await zombie.System.AppendAsync("{\"n\":1}", key: "k");
        await zombie.System.WhenPublishedAsync(before);

        await using var successor = await RecordingApp.StartAsync(Settings(Folder.File("successor.db"), topic, cursors)); // its InitTransactions takes the transactional id

        // A broker answers the old producer's next transaction with PRODUCER_FENCED once the new one bumped the epoch;
        // the mock issues a new producer id instead and does not fence, so the answer is pushed for it (the successor is idle).
        Cluster.PushRequestErrors(KafkaMockCluster.AddPartitionsToTxnApiKey, KafkaMockCluster.ProducerFenced);
        var late = await zombie.System.AppendAsync("{\"n\":2}", key: "k"); // stored: Committed mode returns before the publish
        var failure = Assert.CatchAsync(async () => await zombie.System.WhenPublishedAsync(late));
        await Eventually.UntilAsync(() => zombie.System.GetPublishStatus().State == PublishState.Fenced, "the zombie's pipeline is fenced", TimeSpan.FromSeconds(10));
        var refused = Assert.CatchAsync(async () => await zombie.System.AppendAsync("{\"n\":3}", key: "k"));

        var after = await successor.System.AppendAsync("{\"n\":4}", key: "k");
        await successor.System.WhenPublishedAsync(after);
        var log = CommittedLogReader.Read(Cluster.BootstrapServers, topic);
        var consumerView = TopicReader.ReadAll(Cluster.BootstrapServers, topic, Partitions);

        Assert.Multiple(() =>
        {
            Assert.That(failure is InstanceConflictException || failure?.InnerException is InstanceConflictException, Is.True, () => $"the late event's publish failed with the conflict: {failure}");
            Assert.That(refused, Is.InstanceOf<InstanceConflictException>(), "a fenced instance takes no more appends");
            Assert.That(log.Committed.Select(Id), Is.EqualTo(new[] { before.EventId, after.EventId }), "the zombie's failed transaction is not visible");
            Assert.That(consumerView.Select(Id), Is.EqualTo(new[] { before.EventId, after.EventId }), "nor to a Confluent consumer");
        });
    }

    [Test]
    public async Task RecordRefusedForGood_ItIsParkedAndTheOthersAreVisibleOnceInOrder()
    {
        var topic = KafkaTestSettings.NewTopic("eos-parked");
        var cursors = KafkaTestSettings.NewTopic("cursors");
        Cluster.CreateTopic(topic, partitions: 1);
        Cluster.CreateTopic(cursors, partitions: 1);
        await using var app = await RecordingApp.StartAsync(Settings(Folder.File("events.db"), topic, cursors));
        var before = await app.System.AppendAsync("{\"n\":0}", key: "k");
        await app.System.WhenPublishedAsync(before);

        // The partition's leader answers the next produce request for it with MESSAGE_TOO_LARGE: no retry helps.
        Cluster.PushPartitionRequestError(topic, 0, KafkaMockCluster.ProduceApiKey, KafkaMockCluster.MessageTooLarge);
        var refused = await app.System.AppendAsync("{\"n\":1}", key: "k");
        Assert.That(async () => await app.System.WhenPublishedAsync(refused), Throws.TypeOf<EventPublishException>().With.Property("RecoveryScheduled").False);
        var after = new List<RecordedEvent>();
        for (var i = 2; i < 12; i++)
        {
            after.Add(await app.System.AppendAsync($"{{\"n\":{i}}}", key: "k"));
        }

        await app.System.WhenPublishedAsync(after[^1]);
        var parked = new List<ParkedEvent>();
        await foreach (var p in app.System.GetParkedEventsAsync())
        {
            parked.Add(p);
        }

        var log = CommittedLogReader.Read(Cluster.BootstrapServers, topic);
        Assert.Multiple(() =>
        {
            Assert.That(log.Committed.Select(Id), Is.EqualTo(after.Prepend(before).Select(e => e.EventId)), "the others once each, in order; the refused one not at all");
            Assert.That(parked.Select(p => p.EventId), Is.EqualTo(new[] { refused.EventId }));
            Assert.That(parked[0].Reason, Does.Contain("MsgSizeTooLarge"));
            Assert.That(app.System.GetPublishStatus().Cursor, Is.EqualTo(after[^1].EventId));
        });
    }

    /// <summary>Records of one key appear in event-id order (the order they were appended in).</summary>
    internal static void AssertKeyOrder(IEnumerable<StoredRecord> records)
    {
        foreach (var key in records.GroupBy(r => r.Key))
        {
            var ids = key.Select(Id).ToList();
            Assert.That(ids, Is.Ordered, $"key {key.Key} keeps its order");
        }
    }

    private static TimeUuid Id(StoredRecord record) => TimeUuid.Parse(record.Header("ce_id")!);

    private (string Topic, string Cursors) CreateTopics()
    {
        var topic = KafkaTestSettings.NewTopic("eos");
        var cursors = KafkaTestSettings.NewTopic("cursors");
        Cluster.CreateTopic(topic, Partitions);
        Cluster.CreateTopic(cursors, partitions: 1); // the mock broker has no CreateTopics for the publisher to call
        return (topic, cursors);
    }

    private RecordingAppSettings Settings(string database, string topic, string cursors) =>
        new(database, Cluster.BootstrapServers, topic) { Mode = PublishMode.Committed, CursorTopic = cursors };
}
