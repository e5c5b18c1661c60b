using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using EventSourcing.SystemOfRecord.Sqlite;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Guarantees;

/// <summary>
/// Issue 5's fault test for managed replays, over the Kafka wire protocol against the mock cluster: a replay to Kafka
/// cancelled half-way resumes from its checkpoint, and nothing is published or applied twice.
/// </summary>
[TestFixture]
public sealed class ManagedReplayGuaranteeTests : GuaranteeFixture
{
    private const int Buckets = 40;
    private const int EventsPerBucket = 100;
    private const int Events = Buckets * EventsPerBucket;

    [Test]
    public async Task RunReplayAsync_CancelledHalfWayThenResumed_PublishesAndAppliesEachEventOnce()
    {
        var topic = KafkaTestSettings.NewTopic("replay");
        Cluster.CreateTopic(topic, Partitions);
        var database = Folder.File("events.db");

        // Recorded an hour ago, over 40 buckets, and never published to this topic (a downstream that lost everything).
        var first = DateTime.UtcNow.AddHours(-1);
        first = new DateTime(first.Ticks - (first.Ticks % RecordingApp.BucketIncrement.Ticks), DateTimeKind.Utc);
        await using (var store = new SqliteEventStore(new SqliteStoreOptions { ConnectionString = "Data Source=" + database }))
        {
            await store.EnsureCreatedAsync(RecordingApp.BucketIncrement);
            await Task.WhenAll(Enumerable.Range(0, Events).Select(i =>
            {
                var bucket = first.AddTicks(RecordingApp.BucketIncrement.Ticks * (i / EventsPerBucket));
                var id = TimeUuid.Create(new DateTimeOffset(bucket.AddMilliseconds(i % EventsPerBucket)));
                return store.AppendAsync(new RecordedEvent(bucket, id, topic, $"key-{i % 20}", $"{{\"n\":{i}}}")).AsTask();
            }));
        }

        await using var consumer = await IdempotentConsumer.StartAsync(Cluster, topic);
        await using var app = await RecordingApp.StartAsync(new RecordingAppSettings(database, Cluster.BootstrapServers, topic));
        var sor = app.System;
        var to = first.AddTicks(RecordingApp.BucketIncrement.Ticks * Buckets);
        // Rate-limited, so that the cancel lands half-way. A bucket completes when the broker acknowledged it, and the
        // reader may run up to 4 096 sends ahead of that: reading takes 8 s, so acknowledgements may lag up to 4 s (a
        // loaded CI machine lagged more than 1 s at 2 000 events/s, and the read ended before half the buckets completed).
        var options = new ManagedReplayOptions { MaxParallelism = 8, MaxEventsPerSecond = 500 };

        // Cancelled once half the buckets are done.
        using var cancel = new CancellationTokenSource();
        var halfWay = new SyncProgress(p =>
        {
            if (p.BucketsCompleted >= Buckets / 2)
            {
                cancel.Cancel();
            }
        });
        Assert.That(
            async () => await sor.RunReplayAsync("lost-downstream", first, to, options, halfWay, cancel.Token),
            Throws.InstanceOf<OperationCanceledException>());

        var checkpoint = await sor.GetReplayCheckpointAsync("lost-downstream");
        var stored = await StoreContents.ReadAllAsync(app.Store);
        var deliveredBefore = stored.Count(e => e.TimeBucket < checkpoint!.NextBucket
            || (e.TimeBucket == checkpoint.NextBucket && checkpoint.LastEventId is { } last && e.EventId <= last));
        var onTopicAfterCancel = StoreContents.RecordsOnTopic(Cluster, topic, Partitions);

        var resumed = await sor.RunReplayAsync("lost-downstream", first, to, options);
        await Eventually.UntilAsync(() => consumer.AppliedCount >= Events, $"the consumer applied all {Events} events", TimeSpan.FromSeconds(60));
        var records = TopicReader.ReadAll(Cluster.BootstrapServers, topic, Partitions);
        await Eventually.UntilAsync(() => consumer.Deliveries >= records.Count, $"the consumer read all {records.Count} records", TimeSpan.FromSeconds(60));
        TestContext.Progress.WriteLine($"cancelled at bucket {checkpoint!.NextBucket:O} of {first:O} to {to:O}: {deliveredBefore} delivered before the stop, {resumed.EventsDelivered} after the resume");

        Assert.Multiple(() =>
        {
            Assert.That(stored, Has.Count.EqualTo(Events));
            Assert.That(checkpoint!.IsComplete, Is.False, "the first run stopped half-way");
            Assert.That(deliveredBefore, Is.InRange(1, Events - 1));
            Assert.That(onTopicAfterCancel, Is.EqualTo(deliveredBefore), "the checkpoint is exact: what it claims, and nothing more, is on the topic");
            Assert.That(resumed.ResumedFrom, Is.EqualTo(checkpoint.NextBucket), "the second run resumed from the checkpoint");
            Assert.That(resumed.EventsDelivered, Is.EqualTo(Events - deliveredBefore), "the second run delivered the rest");
            Assert.That(records, Has.Count.EqualTo(Events), "each event published once over both runs");
            Assert.That(records.Select(r => r.Header("ce_id")).Distinct().Count(), Is.EqualTo(Events));
            Assert.That(consumer.AppliedCount, Is.EqualTo(Events));
            Assert.That(consumer.Applied.Keys.Order(), Is.EqualTo(stored.Select(e => e.EventId).Order()));
            Assert.That(consumer.Applied.Values.Max(), Is.EqualTo(1), "no event applied twice");
            Assert.That(consumer.Handler.DuplicateCount, Is.EqualTo(consumer.Deliveries - Events));
        });
    }

    /// <summary>Reports on the replay's own thread, at once (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<ReplayProgress> report) : IProgress<ReplayProgress>
    {
        public void Report(ReplayProgress value) => report(value);
    }
}
