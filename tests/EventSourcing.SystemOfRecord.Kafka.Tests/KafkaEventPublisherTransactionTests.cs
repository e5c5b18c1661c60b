using Confluent.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka.Tests;

/// <summary>
/// <see cref="KafkaEventPublisher"/> with <see cref="KafkaPublisherOptions.ExactlyOnce"/>, called as the publish pipeline
/// calls it, over the wire against the mock cluster. What counts as visible is read with <see cref="CommittedLogReader"/>
/// (Kafka's <c>read_committed</c> rule applied to the raw log), since the mock's own Fetch does not hide aborted records.
/// </summary>
[TestFixture]
public sealed class KafkaEventPublisherTransactionTests
{
    private const string Instance = "orders-1";
    private const int TransactionalIdAuthorizationFailed = 53;

    private KafkaMockCluster _cluster = null!;
    private string _topic = null!;
    private string _cursorTopic = null!;

    [SetUp]
    public void SetUp()
    {
        _cluster = new KafkaMockCluster(brokers: 3);
        _topic = KafkaTestSettings.NewTopic("eos");
        _cursorTopic = KafkaTestSettings.NewTopic("cursors");
        _cluster.CreateTopic(_topic, partitions: 3);
        _cluster.CreateTopic(_cursorTopic, partitions: 1); // the mock broker has no CreateTopics
    }

    [TearDown]
    public void TearDown() => _cluster.Dispose();

    [Test]
    public async Task PublishTransactionAsync_Batches_EventsAndCursorCommittedTogetherAndTheNextStartReadsTheCursor()
    {
        string? first;
        var events = Events(250);
        await using (var publisher = Publisher())
        {
            first = await publisher.InitializeTransactionsAsync(Instance, CancellationToken.None);
            await publisher.PublishTransactionAsync(events[..200], events[199].EventId.ToString(), CancellationToken.None);
            await publisher.PublishTransactionAsync(events[200..], events[^1].EventId.ToString(), CancellationToken.None);
        }

        await using var restarted = Publisher();
        var cursor = await restarted.InitializeTransactionsAsync(Instance, CancellationToken.None);
        var log = CommittedLogReader.Read(_cluster.BootstrapServers, _topic);
        var cursors = CommittedLogReader.Read(_cluster.BootstrapServers, _cursorTopic);

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Null, "nothing was ever committed under this instance");
            Assert.That(cursor, Is.EqualTo(events[^1].EventId.ToString()), "the cursor of the last transaction");
            Assert.That(log.Committed.Select(r => r.Header("ce_id")).Order(), Is.EqualTo(events.Select(e => e.EventId.ToString()).Order()), "each event once");
            Assert.That(log.Aborted + log.Open, Is.Zero);
            Assert.That(cursors.Committed.Select(r => (r.Key, r.Value)), Is.EqualTo(new[] { (Instance, events[199].EventId.ToString()), (Instance, events[^1].EventId.ToString()) }));
            Assert.That(cursors.Committed.All(r => r.Header("sor-transaction") is { Length: 32 }), "each cursor record names its transaction");
        });
        foreach (var key in events.Select(e => e.Key).Distinct())
        {
            var onTopic = log.Committed.Where(r => r.Key == key).Select(r => r.Header("ce_id"));
            Assert.That(onTopic, Is.EqualTo(events.Where(e => e.Key == key).Select(e => e.EventId.ToString())), $"key {key} keeps its order");
        }
    }

    [Test]
    public async Task PublishTransactionAsync_RecordRefusedForGood_NonTransientNamingTheEventAndNothingOfTheTransactionVisible()
    {
        await using var publisher = Publisher();
        await publisher.InitializeTransactionsAsync(Instance, CancellationToken.None);
        var topic = KafkaTestSettings.NewTopic("refused");
        _cluster.CreateTopic(topic, partitions: 1);
        var refused = Events(1, topic)[0];

        // The partition's leader answers the next produce request with MESSAGE_TOO_LARGE, a permanent error; the cursor
        // record's partition (on the same broker, maybe in the same request) is answered as usual.
        _cluster.PushPartitionRequestError(topic, 0, KafkaMockCluster.ProduceApiKey, KafkaMockCluster.MessageTooLarge);
        var error = Assert.ThrowsAsync<KafkaPublishException>(async () => await publisher.PublishTransactionAsync([refused], refused.EventId.ToString(), CancellationToken.None));

        // The transaction after an aborted one may fail once more while librdkafka bumps the producer epoch: transient, like the pipeline retries it.
        var next = Events(5, topic);
        await PublishRetryingTransientAsync(publisher, next);
        var log = CommittedLogReader.Read(_cluster.BootstrapServers, topic);

        Assert.Multiple(() =>
        {
            Assert.That(error!.IsTransient, Is.False);
            Assert.That(error.EventId, Is.EqualTo(refused.EventId));
            Assert.That(error.ErrorCode, Is.EqualTo(ErrorCode.MsgSizeTooLarge));
            Assert.That(log.Committed.Select(r => r.Header("ce_id")), Is.EqualTo(next.Select(e => e.EventId.ToString())), "the refused event not at all, the next ones once");
        });
    }

    [Test]
    public async Task PublishTransactionAsync_FencedWhileCommitting_InstanceConflictForGoodAndNothingVisible()
    {
        await using var publisher = Publisher();
        await publisher.InitializeTransactionsAsync(Instance, CancellationToken.None);
        var events = Events(10);

        // What the coordinator answers once a newer producer took the transactional id (the mock does not fence by itself).
        _cluster.PushRequestErrors(KafkaMockCluster.EndTxnApiKey, KafkaMockCluster.ProducerFenced);
        var conflict = Assert.ThrowsAsync<InstanceConflictException>(async () => await publisher.PublishTransactionAsync(events, events[^1].EventId.ToString(), CancellationToken.None));
        var again = Assert.ThrowsAsync<InstanceConflictException>(async () => await publisher.PublishTransactionAsync(events, events[^1].EventId.ToString(), CancellationToken.None));
        var log = CommittedLogReader.Read(_cluster.BootstrapServers, _topic);

        Assert.Multiple(() =>
        {
            Assert.That(conflict!.InstanceName, Is.EqualTo(Instance));
            Assert.That(conflict.Message, Does.Contain("fenced").And.Contain(Instance));
            Assert.That(again!.InstanceName, Is.EqualTo(Instance), "a fenced publisher stays fenced");
            Assert.That(log.Committed, Is.Empty, "nothing of the fenced transaction is visible");
            Assert.That(log.Open, Is.EqualTo(events.Length), "its records reached the brokers, in a transaction that never commits");
        });
    }

    [Test]
    public async Task PublishTransactionAsync_BrokersDownDuringTheCommit_TransientThenTheSameBatchCommitsOnce()
    {
        await using var publisher = Publisher(TimeSpan.FromSeconds(2));
        await publisher.InitializeTransactionsAsync(Instance, CancellationToken.None);
        var warmUp = Events(1);
        await publisher.PublishTransactionAsync(warmUp, warmUp[0].EventId.ToString(), CancellationToken.None);

        var events = Events(20);
        _cluster.SetBrokerDown();
        var error = Assert.ThrowsAsync<KafkaTransactionException>(async () => await publisher.PublishTransactionAsync(events, events[^1].EventId.ToString(), CancellationToken.None));
        _cluster.SetBrokerUp();
        TestContext.Progress.WriteLine($"while down: {error!.Message}");
        await PublishRetryingTransientAsync(publisher, events);
        var log = CommittedLogReader.Read(_cluster.BootstrapServers, _topic);

        Assert.Multiple(() =>
        {
            Assert.That(error!.IsTransient, Is.True);
            Assert.That(log.Committed.Select(r => r.Header("ce_id")).Order(), Is.EqualTo(warmUp.Concat(events).Select(e => e.EventId.ToString()).Order()), "each event once");
        });
    }

    [Test]
    public async Task PublishTransactionAsync_ProducerBrokeWhileCommitting_TheRetryLearnsItDidNotCommitAndPublishesOnce()
    {
        // The faithful reader: on the mock, a consumer would also see the cursor record of the transaction that never committed.
        await using var publisher = Publisher(readCursorFromLog: true);
        await publisher.InitializeTransactionsAsync(Instance, CancellationToken.None);
        var events = Events(10);

        // A fatal answer to EndTxn that is not fencing: the producer is done for, and the transaction's outcome unknown to it.
        _cluster.PushRequestErrors(KafkaMockCluster.EndTxnApiKey, TransactionalIdAuthorizationFailed);
        var error = Assert.ThrowsAsync<KafkaTransactionException>(async () => await publisher.PublishTransactionAsync(events, events[^1].EventId.ToString(), CancellationToken.None));
        await publisher.PublishTransactionAsync(events, events[^1].EventId.ToString(), CancellationToken.None);
        var log = CommittedLogReader.Read(_cluster.BootstrapServers, _topic);

        Assert.Multiple(() =>
        {
            Assert.That(error!.IsTransient, Is.True, error.Message);
            Assert.That(error.ErrorCode, Is.EqualTo(ErrorCode.TransactionalIdAuthorizationFailed));
            Assert.That(log.Committed.Select(r => r.Header("ce_id")).Order(), Is.EqualTo(events.Select(e => e.EventId.ToString()).Order()), "each event once");
            Assert.That(log.Open, Is.EqualTo(events.Length), "the first attempt's records stay in a transaction that never commits");
        });
    }

    [Test]
    public async Task AtLeastOnceEntryPoints_ExactlyOnce_RefusedClearly()
    {
        await using var publisher = Publisher();
        var recorded = Events(1)[0];
        var callback = new RecordingCallback();

        publisher.Publish(recorded, callback, state: null);

        Assert.Multiple(() =>
        {
            Assert.That(publisher.IsTransactional, Is.True);
            Assert.That(async () => await publisher.PublishAsync(recorded, CancellationToken.None), Throws.InvalidOperationException.With.Message.Contains("exactly once"));
            Assert.That(callback.Error, Is.InstanceOf<InvalidOperationException>());
            Assert.That(async () => await publisher.PublishTransactionAsync([recorded], recorded.EventId.ToString(), CancellationToken.None),
                Throws.InvalidOperationException.With.Message.Contains("InitializeTransactionsAsync"));
        });
    }

    [Test]
    public async Task TransactionalMembers_AtLeastOnce_RefusedClearly()
    {
        await using var publisher = new KafkaEventPublisher(Microsoft.Extensions.Options.Options.Create(KafkaTestSettings.Publisher(_cluster)));

        Assert.Multiple(() =>
        {
            Assert.That(publisher.IsTransactional, Is.False);
            Assert.That(async () => await publisher.InitializeTransactionsAsync(Instance, CancellationToken.None), Throws.InvalidOperationException.With.Message.Contains("ExactlyOnce"));
        });
    }

    [Test]
    public async Task InitializeTransactionsAsync_CursorTopicMissingAndNotCreatable_FailsNamingTheTopic()
    {
        var options = Options(TimeSpan.FromSeconds(2));
        options.CursorTopic = "missing-cursors";
        await using var publisher = new KafkaEventPublisher(Microsoft.Extensions.Options.Options.Create(options));

        // The mock broker does not implement CreateTopics, as a cluster that refuses this client would not create the topic.
        var error = Assert.ThrowsAsync<KafkaTransactionException>(async () => await publisher.InitializeTransactionsAsync(Instance, CancellationToken.None));

        Assert.That(error!.Message, Does.Contain("'missing-cursors'").And.Contain("cleanup.policy=compact"));
    }

    [Test]
    public async Task InitializeTransactionsAsync_OtherInstanceOnTheSamePublisher_Refused()
    {
        await using var publisher = Publisher();
        await publisher.InitializeTransactionsAsync(Instance, CancellationToken.None);

        Assert.That(async () => await publisher.InitializeTransactionsAsync("orders-2", CancellationToken.None), Throws.InvalidOperationException.With.Message.Contains("orders-2"));
    }

    // Retries transient failures as the pipeline does, for a minute rather than a number of attempts: each attempt may
    // use up its publish timeout (2 s in some tests) while a loaded machine reconnects to the brokers.
    private static async Task PublishRetryingTransientAsync(KafkaEventPublisher publisher, RecordedEvent[] events)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await publisher.PublishTransactionAsync(events, events[^1].EventId.ToString(), CancellationToken.None);
                return;
            }
            catch (KafkaSystemOfRecordException ex) when (ex.IsTransient && started.Elapsed < TimeSpan.FromMinutes(1))
            {
                TestContext.Progress.WriteLine($"attempt {attempt}: {ex.Message}");
            }
        }
    }

    private KafkaPublisherOptions Options(TimeSpan? publishTimeout = null)
    {
        var options = KafkaTestSettings.Publisher(_cluster, publishTimeout ?? TimeSpan.FromSeconds(10));
        options.ExactlyOnce = true;
        options.CursorTopic = _cursorTopic;
        return options;
    }

    private KafkaEventPublisher Publisher(TimeSpan? publishTimeout = null, bool readCursorFromLog = false) =>
        new(Microsoft.Extensions.Options.Options.Create(Options(publishTimeout)), logger: null, readCursorFromLog ? new CommittedLogCursorReader(_cluster.BootstrapServers) : null);

    private RecordedEvent[] Events(int count, string? topic = null)
    {
        var bucket = DateTime.UnixEpoch.AddSeconds(1_700_000_000);
        return [.. Enumerable.Range(0, count).Select(i => new RecordedEvent(bucket, TimeUuid.Create(), topic ?? _topic, $"key-{i % 7}", $"{{\"n\":{i}}}"))];
    }

    private sealed class RecordingCallback : IPublishCallback
    {
        public Exception? Error { get; private set; }

        public void OnPublished(object? state, Exception? error) => Error = error;
    }
}
