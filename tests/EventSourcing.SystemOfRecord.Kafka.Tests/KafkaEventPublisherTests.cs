using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using Confluent.Kafka;

namespace EventSourcing.SystemOfRecord.Kafka.Tests;

[TestFixture]
public sealed class KafkaEventPublisherTests
{
    private KafkaMockCluster _cluster = null!;

    [SetUp]
    public void SetUp() => _cluster = new KafkaMockCluster(brokers: 3);

    [TearDown]
    public void TearDown() => _cluster.Dispose();

    [Test]
    public async Task AppendAsync_ManyConcurrentAppends_ReachTopicAsCloudEventsWithKeyOrderKept()
    {
        var topic = KafkaTestSettings.NewTopic("append");
        _cluster.CreateTopic(topic, partitions: 4);
        var (system, publisher, store) = KafkaTestSettings.CreateSystem(KafkaTestSettings.Publisher(_cluster), topic);
        await using var _ = publisher;
        await system.AppendAsync("{\"n\":-1}", key: "warm-up");

        var appends = new List<Task<RecordedEvent>>();
        for (var i = 0; i < 400; i++)
        {
            var headers = new Dictionary<string, string> { ["trace"] = $"t{i}" };
            appends.Add(system.AppendAsync($"{{\"n\":{i}}}", key: $"order-{i % 10}", headers: headers).AsTask());
        }

        var recorded = await Task.WhenAll(appends);

        var records = TopicReader.ReadAll(_cluster.BootstrapServers, topic, 4);
        Assert.That(records, Has.Count.EqualTo(401));
        var byId = records.ToDictionary(r => r.Header("ce_id")!);
        Assert.That(byId, Has.Count.EqualTo(401), "every event id appears once");
        foreach (var e in recorded)
        {
            var record = byId[e.EventId.ToString()];
            Assert.Multiple(() =>
            {
                Assert.That(record.Key, Is.EqualTo(e.Key));
                Assert.That(record.Value, Is.EqualTo(e.Message));
                Assert.That(record.Header("ce_specversion"), Is.EqualTo("1.0"));
                Assert.That(record.Header("ce_source"), Is.EqualTo("/tests/kafka"));
                Assert.That(record.Header("ce_type"), Is.EqualTo("tests.event"));
                Assert.That(record.Header("content-type"), Is.EqualTo("application/json"));
                Assert.That(DateTime.Parse(record.Header("ce_time")!, null, System.Globalization.DateTimeStyles.AdjustToUniversal), Is.EqualTo(e.Timestamp));
                Assert.That(record.Header("ce_time"), Does.EndWith("Z"));
                Assert.That(record.Header("ce_timebucket"), Is.EqualTo(e.TimeBucket.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'")));
                Assert.That(record.Header("trace"), Is.EqualTo(e.Headers["trace"]));
            });
        }

        foreach (var group in records.Where(r => r.Key != "warm-up").GroupBy(r => r.Key))
        {
            Assert.That(group.Select(r => r.Partition).Distinct().Count(), Is.EqualTo(1), $"key {group.Key} stays on one partition");
            var ids = group.OrderBy(r => r.Offset).Select(r => TimeUuid.Parse(r.Header("ce_id")!)).ToList();
            Assert.That(ids, Is.Ordered, $"key {group.Key} keeps its order");
            Assert.That(ids, Has.Count.EqualTo(40));
        }

        Assert.That(store.Count, Is.EqualTo(401));
    }

    [Test]
    [Category("Slow")] // every broker down for seconds
    public async Task AppendAsync_EveryBrokerDownForSeconds_EveryRecordedEventArrivesOnce()
    {
        var topic = KafkaTestSettings.NewTopic("outage");
        _cluster.CreateTopic(topic, partitions: 3);
        var (system, publisher, store) = KafkaTestSettings.CreateSystem(KafkaTestSettings.Publisher(_cluster), topic);
        await using var _ = publisher;
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => system.AppendAsync($"before {i}", key: $"k{i % 7}").AsTask()));

        _cluster.SetBrokerDown();
        var during = Enumerable.Range(0, 200).Select(i => system.AppendAsync($"during {i}", key: $"k{i % 7}").AsTask()).ToList();
        await Eventually.UntilAsync(() => store.Count == 300, "the store recorded every event while every broker is down");

        // An observation window for what must not happen: however slow the machine, no broker can acknowledge meanwhile.
        await Task.WhenAny(Task.WhenAll(during), Task.Delay(TimeSpan.FromSeconds(3)));
        Assert.That(during.Count(t => t.IsCompleted), Is.Zero, "nothing is acknowledged while every broker is down");

        _cluster.SetBrokerUp();
        var after = Enumerable.Range(0, 100).Select(i => system.AppendAsync($"after {i}", key: $"k{i % 7}").AsTask()).ToList();
        await Task.WhenAll(during.Concat(after)).WaitAsync(TimeSpan.FromSeconds(60));

        var records = TopicReader.ReadAll(_cluster.BootstrapServers, topic, 3);
        var storedIds = new List<string>();
        await foreach (var e in store.ReadRangeAsync(DateTime.UnixEpoch, DateTime.UtcNow.AddDays(1)))
        {
            storedIds.Add(e.EventId.ToString());
        }

        Assert.That(storedIds, Has.Count.EqualTo(400));
        Assert.That(records.Select(r => r.Header("ce_id")), Is.EquivalentTo(storedIds), "each recorded event is on the topic exactly once");
        Assert.That(records.Count(r => r.Value.StartsWith("during ", StringComparison.Ordinal)), Is.EqualTo(200));
    }

    [Test]
    public async Task RepublishDateRangeAsync_RecordsLostOnBroker_PutsEveryOneBack()
    {
        var topic = KafkaTestSettings.NewTopic("lost");
        _cluster.CreateTopic(topic, partitions: 2);
        var (system, publisher, store) = KafkaTestSettings.CreateSystem(KafkaTestSettings.Publisher(_cluster), topic);
        await using var _ = publisher;
        var start = DateTime.UtcNow;
        var recorded = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => system.AppendAsync($"{{\"n\":{i}}}", key: $"k{i % 5}").AsTask()));

        // Acknowledged, then lost: the broker drops the first half of each partition's log.
        var marks = TopicReader.Watermarks(_cluster.BootstrapServers, topic, 2);
        Assert.That(marks.Sum(m => m.High), Is.EqualTo(200));
        long lost = 0;
        for (var p = 0; p < 2; p++)
        {
            var cut = marks[p].High / 2;
            _cluster.DeleteRecords(topic, p, cut);
            lost += cut;
        }

        var survivors = TopicReader.ReadAll(_cluster.BootstrapServers, topic, 2);
        Assert.That(survivors, Has.Count.EqualTo(200 - lost));
        Assert.That(lost, Is.GreaterThan(0));

        var republished = await system.RepublishDateRangeAsync(start.AddSeconds(-1), DateTime.UtcNow.AddSeconds(1));

        Assert.That(republished, Is.EqualTo(200));
        var records = TopicReader.ReadAll(_cluster.BootstrapServers, topic, 2);
        Assert.That(records, Has.Count.EqualTo(200 - lost + 200), "survivors stay; the replay adds every event once more");
        Assert.That(records.Select(r => r.Header("ce_id")).Distinct(), Is.EquivalentTo(recorded.Select(e => e.EventId.ToString())));
        var replayedValues = records.GroupBy(r => r.Header("ce_id")).ToDictionary(g => g.Key!, g => g.Select(r => r.Value).Distinct().Single());
        Assert.That(recorded.All(e => replayedValues[e.EventId.ToString()] == e.Message), Is.True, "a replayed event carries the same message");
        Assert.That(store.Count, Is.EqualTo(200));
    }

    [Test]
    public async Task AppendAsync_LeaderChangesRequestErrorsAndSlowAcks_NothingLostNothingDuplicated()
    {
        var topic = KafkaTestSettings.NewTopic("faults");
        _cluster.CreateTopic(topic, partitions: 4);
        // Slow acknowledgements stay below the producer's socket timeout: librdkafka's mock broker checks producer
        // sequence numbers only for transactional producers, so it would append a resent batch twice where a real
        // broker drops the duplicate of an idempotent producer.
        var (system, publisher, store) = KafkaTestSettings.CreateSystem(KafkaTestSettings.Publisher(_cluster), topic);
        await using var _ = publisher;
        var appends = new List<Task<RecordedEvent>>();
        void Append(int count, string phase) =>
            appends.AddRange(Enumerable.Range(0, count).Select(i => system.AppendAsync($"{phase} {i}", key: $"k{i % 8}").AsTask()));

        Append(100, "steady");
        _cluster.PushRequestErrors(KafkaMockCluster.ProduceApiKey,
            KafkaMockCluster.NotLeaderOrFollower, KafkaMockCluster.RequestTimedOut, KafkaMockCluster.NotEnoughReplicas,
            KafkaMockCluster.NotEnoughReplicasAfterAppend, KafkaMockCluster.NotLeaderOrFollower, KafkaMockCluster.RequestTimedOut);
        Append(100, "errors");
        for (var p = 0; p < 4; p++)
        {
            _cluster.SetPartitionLeader(topic, p, (p + 1) % 3 + 1);
        }

        Append(100, "moved");
        _cluster.SetRoundTripTime(1500);
        Append(100, "slow");
        await Task.WhenAny(Task.WhenAll(appends), Task.Delay(TimeSpan.FromSeconds(2.5)));
        _cluster.SetRoundTripTime(0);
        for (var p = 0; p < 4; p++)
        {
            _cluster.SetPartitionLeader(topic, p, p % 3 + 1);
        }

        Append(100, "back");
        await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(60));

        var records = TopicReader.ReadAll(_cluster.BootstrapServers, topic, 4);
        Assert.That(records, Has.Count.EqualTo(500), "no record lost, none duplicated by producer retries");
        Assert.That(records.Select(r => r.Header("ce_id")), Is.EquivalentTo(appends.Select(a => a.Result.EventId.ToString())));
        foreach (var key in records.GroupBy(r => r.Key))
        {
            Assert.That(key.OrderBy(r => r.Offset).Select(r => TimeUuid.Parse(r.Header("ce_id")!)), Is.Ordered, $"key {key.Key} keeps its order");
        }

        Assert.That(store.Count, Is.EqualTo(500));
    }

    [Test]
    public async Task PublishAsync_NoBrokerWithinPublishTimeout_FailsNamingTheKafkaError()
    {
        var topic = KafkaTestSettings.NewTopic("timeout");
        _cluster.CreateTopic(topic, partitions: 1);
        var (system, publisher, store) = KafkaTestSettings.CreateSystem(KafkaTestSettings.Publisher(_cluster, TimeSpan.FromSeconds(1)), topic);
        await using var _ = publisher;
        _cluster.SetBrokerDown();

        var failure = Assert.ThrowsAsync<EventPublishException>(async () => await system.AppendAsync("{}", key: "k"));

        var kafka = failure!.InnerException as KafkaPublishException;
        Assert.That(kafka, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(kafka!.ErrorCode, Is.EqualTo(ErrorCode.Local_MsgTimedOut));
            Assert.That(kafka.IsTransient, Is.True);
            Assert.That(kafka.Message, Does.Contain("Local_MsgTimedOut").And.Contain(failure.Event.EventId.ToString()).And.Contain(topic));
            Assert.That(store.Count, Is.EqualTo(1), "the event stays recorded for a replay");
        });
    }

    [Test]
    public async Task PublishAsync_FatalIdempotentProducerError_PipelineRetriesItFirstThenLaterPublishesGoThroughANewProducer()
    {
        var topic = KafkaTestSettings.NewTopic("fatal");
        _cluster.CreateTopic(topic, partitions: 1);
        var (system, publisher, store) = KafkaTestSettings.CreateSystem(KafkaTestSettings.Publisher(_cluster), topic);
        await using var _ = publisher;
        var first = await system.AppendAsync("first", key: "k");

        // The broker answers with a broken sequence: fatal for an idempotent producer, which then fails every record.
        _cluster.PushRequestErrors(KafkaMockCluster.ProduceApiKey, KafkaMockCluster.OutOfOrderSequenceNumber);
        var failure = Assert.ThrowsAsync<EventPublishException>(async () => await system.AppendAsync("broken", key: "k"));
        var kafka = (KafkaPublishException)failure!.InnerException!;
        Assert.That(kafka.ErrorCode, Is.EqualTo(ErrorCode.OutOfOrderSequenceNumber));
        Assert.That(kafka.IsTransient, Is.True);

        var after = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => system.AppendAsync($"after {i}", key: "k").AsTask()));

        // The pipeline sent the failed event again before any later one: the key's order holds on the topic.
        var records = TopicReader.ReadAll(_cluster.BootstrapServers, topic, 1);
        Assert.That(records.Select(r => r.Header("ce_id")), Is.EqualTo(new[] { first, failure.Event }.Concat(after).Select(e => e.EventId.ToString())));
        Assert.That(await system.RepublishDateRangeAsync(first.TimeBucket, DateTime.UtcNow.AddSeconds(1)), Is.EqualTo(22), "the failed one is in the store for a replay too");
        Assert.That(store.Count, Is.EqualTo(22));
    }

    [Test]
    public void Constructor_InvalidOptions_ThrowsNamingEveryBadSetting()
    {
        var options = new KafkaPublisherOptions { PublishTimeout = TimeSpan.Zero, Source = "" };
        options.ProducerSettings["acks"] = "1";
        options.ProducerSettings["sasl.password"] = "s3cr3t-value";

        var failure = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => _ = new KafkaEventPublisher(Microsoft.Extensions.Options.Options.Create(options)));

        Assert.That(failure!.Failures.ToList(), Has.Count.EqualTo(4));
        Assert.That(failure.Message, Does.Contain("BootstrapServers").And.Contain("PublishTimeout").And.Contain("Source").And.Contain("acks"));
        Assert.That(failure.Message, Does.Not.Contain("s3cr3t-value"));
    }

    [Test]
    public async Task DisposeAsync_RecordsInFlight_FlushesThemFirst()
    {
        var topic = KafkaTestSettings.NewTopic("flush");
        _cluster.CreateTopic(topic, partitions: 1);
        var publisher = new KafkaEventPublisher(Microsoft.Extensions.Options.Options.Create(KafkaTestSettings.Publisher(_cluster)));
        var pending = Enumerable.Range(0, 50)
            .Select(i => publisher.PublishAsync(new RecordedEvent(DateTime.UnixEpoch, TimeUuid.Create(), topic, "k", $"m{i}"), CancellationToken.None).AsTask())
            .ToList();

        await publisher.DisposeAsync();

        Assert.That(pending.All(t => t.IsCompletedSuccessfully), Is.True);
        Assert.That(TopicReader.ReadAll(_cluster.BootstrapServers, topic, 1), Has.Count.EqualTo(50));
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await publisher.PublishAsync(new RecordedEvent(DateTime.UnixEpoch, TimeUuid.Create(), topic, null, "late"), CancellationToken.None));
    }

    [Test]
    public async Task DisposeAsync_RecordsStillUndeliveredWhenTheFlushEnds_EveryPublishIsAnsweredWithAFailure()
    {
        var topic = KafkaTestSettings.NewTopic("unflushed");
        _cluster.CreateTopic(topic, partitions: 1);
        var publisher = new KafkaEventPublisher(Microsoft.Extensions.Options.Options.Create(KafkaTestSettings.Publisher(_cluster, TimeSpan.FromSeconds(1))));
        var callback = new CountingCallback();
        _cluster.SetBrokerDown();
        var pending = Enumerable.Range(0, 20)
            .Select(i => publisher.PublishAsync(new RecordedEvent(DateTime.UnixEpoch, TimeUuid.Create(), topic, "k", $"m{i}"), CancellationToken.None).AsTask())
            .ToList();
        for (var i = 0; i < 20; i++)
        {
            publisher.Publish(new RecordedEvent(DateTime.UnixEpoch, TimeUuid.Create(), topic, "k", $"c{i}"), callback, state: null);
        }

        // The flush waits one publish timeout, which is also when the records expire: librdkafka notices that on its
        // own timer, so some may still be queued when the producer is released.
        await publisher.DisposeAsync();

        await Eventually.UntilAsync(() => pending.All(t => t.IsCompleted) && callback.Answers == 20, "every publish was answered");
        Assert.Multiple(() =>
        {
            Assert.That(pending.All(t => t.IsFaulted), Is.True, "no broker acknowledged any of them");
            Assert.That(callback.Failures, Is.EqualTo(20));
        });
    }

    private sealed class CountingCallback : IPublishCallback
    {
        private int _answers;
        private int _failures;

        public int Answers => Volatile.Read(ref _answers);

        public int Failures => Volatile.Read(ref _failures);

        public void OnPublished(object? state, Exception? error)
        {
            if (error is not null)
            {
                Interlocked.Increment(ref _failures);
            }

            Interlocked.Increment(ref _answers);
        }
    }
}
