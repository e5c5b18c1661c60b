using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka.Tests;

[TestFixture]
public sealed class KafkaEventConsumerServiceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private KafkaMockCluster _cluster = null!;
    private KafkaEventPublisher _publisher = null!;

    [SetUp]
    public void SetUp()
    {
        _cluster = new KafkaMockCluster(brokers: 3);
        _publisher = new KafkaEventPublisher(Options.Create(KafkaTestSettings.Publisher(_cluster)));
    }

    [TearDown]
    public void TearDown()
    {
        _publisher.Dispose();
        _cluster.Dispose();
    }

    [Test]
    [Category("Slow")] // about 14 s of restarts and rebalances
    public async Task ExecuteAsync_RestartedMidStreamAndThroughRebalances_HandlerSeesEveryEventAtLeastOnce()
    {
        var topic = KafkaTestSettings.NewTopic("restart");
        _cluster.CreateTopic(topic, partitions: 4);
        var group = "group-" + topic;
        var published = new List<RecordedEvent>();
        published.AddRange(await PublishAsync(topic, 300, "first"));

        // Slow handlers keep records unhandled while members come and go.
        ValueTask Slow(RecordedEvent e, int attempt) => new(Task.Delay(5));
        var a = await new ConsumerHost(o => KafkaTestSettings.Consumer(o, _cluster, topic, group), Slow).StartAsync();
        await Eventually.UntilAsync(() => a.Handled.Count >= 60, "the first member handled 60 events", Deadline);

        await using var b = await new ConsumerHost(o => KafkaTestSettings.Consumer(o, _cluster, topic, group), Slow).StartAsync();
        published.AddRange(await PublishAsync(topic, 200, "second"));
        await Eventually.UntilAsync(() => b.Handled.Count >= 20, "the member that joined handled events after the rebalance", Deadline);

        // The first member stops mid-stream (its partitions move to b), more events arrive, then it comes back.
        await a.DisposeAsync();
        published.AddRange(await PublishAsync(topic, 100, "third"));
        await using var a2 = await new ConsumerHost(o => KafkaTestSettings.Consumer(o, _cluster, topic, group), Slow).StartAsync();
        await Eventually.UntilAsync(() => a2.Service.AssignedPartitionCount > 0, "the restarted member was assigned partitions", Deadline);
        published.AddRange(await PublishAsync(topic, 100, "fourth"));

        var expected = published.Select(e => e.EventId).ToHashSet();
        HashSet<TimeUuid> Seen() => [.. a.Handled.Concat(b.Handled).Concat(a2.Handled).Select(e => e.EventId)];
        await Eventually.UntilAsync(() => Seen().IsSupersetOf(expected) && !a2.Handled.IsEmpty, "every event was handled", Deadline);

        Assert.That(Seen(), Is.EquivalentTo(expected));
        Assert.That(a.Handled.Count + b.Handled.Count + a2.Handled.Count, Is.GreaterThanOrEqualTo(700));
        var byId = published.ToDictionary(e => e.EventId);
        Assert.That(
            a.Handled.Concat(b.Handled).Concat(a2.Handled).All(e => e.Equals(byId[e.EventId] with { Type = "tests.event", ContentType = "application/json" })),
            Is.True,
            "each handled event equals the published one, with the publisher's CloudEvents type and content type");
        Assert.That(a2.Handled, Is.Not.Empty, "the restarted member got partitions back");
    }

    [Test]
    [Category("Slow")] // about 6 s
    public async Task ExecuteAsync_PoisonRecordsWithLogAndSkip_SkipsThemAndConsumesTheRest()
    {
        var topic = KafkaTestSettings.NewTopic("poison-skip");
        _cluster.CreateTopic(topic, partitions: 1);
        var group = "group-" + topic;
        var good = await PublishAsync(topic, 1, "good-a");
        ProducePoison(topic, headers: null);
        good.AddRange(await PublishAsync(topic, 1, "good-b"));
        ProducePoison(topic, headers: new() { ["ce_specversion"] = "1.0", ["ce_id"] = "not-a-uuid", ["ce_timebucket"] = "2024-01-01T00:00:00Z" });
        ProducePoison(topic, headers: new() { ["ce_specversion"] = "0.3", ["ce_id"] = TimeUuid.Create().ToString(), ["ce_timebucket"] = "2024-01-01T00:00:00Z" });
        good.AddRange(await PublishAsync(topic, 1, "good-c"));

        await using (var first = await new ConsumerHost(o => KafkaTestSettings.Consumer(o, _cluster, topic, group)).StartAsync())
        {
            await Eventually.UntilAsync(() => first.Handled.Count >= 3 && first.Service.SkippedCount >= 3, "three events handled and three poison records skipped", Deadline);
            Assert.That(first.Handled.Select(e => e.Message), Is.EqualTo(good.Select(e => e.Message)));
            Assert.That(first.Service.SkippedCount, Is.EqualTo(3));
        }

        // The skip was committed: a restarted member starts after the last record.
        var later = await PublishAsync(topic, 1, "good-d");
        await using var second = await new ConsumerHost(o => KafkaTestSettings.Consumer(o, _cluster, topic, group)).StartAsync();
        await Eventually.UntilAsync(() => !second.Handled.IsEmpty, "the restarted member handled the new event", Deadline);
        Assert.That(second.Handled.Select(e => e.EventId), Is.EqualTo(later.Select(e => e.EventId)));
        Assert.That(second.Service.SkippedCount, Is.Zero);
    }

    [Test]
    [Category("Slow")] // about 6 s
    public async Task ExecuteAsync_PoisonRecordWithStop_StopsBeforeItWithoutCommittingIt()
    {
        var topic = KafkaTestSettings.NewTopic("poison-stop");
        _cluster.CreateTopic(topic, partitions: 1);
        var group = "group-" + topic;
        var before = await PublishAsync(topic, 2, "before");
        ProducePoison(topic, headers: null);
        var after = await PublishAsync(topic, 2, "after");

        await using (var stopping = await new ConsumerHost(o =>
        {
            KafkaTestSettings.Consumer(o, _cluster, topic, group);
            o.PoisonRecordPolicy = PoisonRecordPolicy.Stop;
        }).StartAsync())
        {
            await Eventually.UntilAsync(() => stopping.Service.ExecuteTask!.IsCompleted, "the consumer stopped", Deadline);
            var failure = stopping.Service.ExecuteTask!.Exception?.InnerException as KafkaPoisonRecordException;
            Assert.That(failure, Is.Not.Null);
            Assert.That(failure!.Offset, Is.EqualTo(2));
            Assert.That(failure.Topic, Is.EqualTo(topic));
            Assert.That(stopping.Handled.Select(e => e.EventId), Is.EqualTo(before.Select(e => e.EventId)));
        }

        // Its handled events were committed, the poison record was not: a member that skips starts right at it.
        await using var skipping = await new ConsumerHost(o => KafkaTestSettings.Consumer(o, _cluster, topic, group)).StartAsync();
        await Eventually.UntilAsync(() => skipping.Handled.Count >= 2, "the events after the poison record were handled", Deadline);
        Assert.That(skipping.Handled.Select(e => e.EventId), Is.EqualTo(after.Select(e => e.EventId)));
        Assert.That(skipping.Service.SkippedCount, Is.EqualTo(1));
    }

    [Test]
    public async Task ExecuteAsync_HandlerThrows_GetsTheEventAgainBeforeAnyLaterOne()
    {
        var topic = KafkaTestSettings.NewTopic("retry");
        _cluster.CreateTopic(topic, partitions: 1);
        var events = await PublishAsync(topic, 10, "e");
        var failing = events[3].EventId;
        long handlerFailures = 0, handled = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "EventSourcing.SystemOfRecord" && instrument.Name.StartsWith("sor.kafka.consumer.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (tags.ToArray().Contains(new KeyValuePair<string, object?>("topic", topic)))
            {
                Interlocked.Add(ref instrument.Name == "sor.kafka.consumer.handler_failures" ? ref handlerFailures : ref handled, value);
            }
        });
        listener.Start();

        await using var host = await new ConsumerHost(
            o => KafkaTestSettings.Consumer(o, _cluster, topic, "group-" + topic),
            (e, attempt) => e.EventId == failing && attempt <= 2 ? throw new InvalidOperationException("downstream unavailable") : ValueTask.CompletedTask).StartAsync();
        await Eventually.UntilAsync(() => host.Handled.Count >= 10, "all ten events were handled", Deadline);

        Assert.That(host.Handled.Select(e => e.EventId), Is.EqualTo(events.Select(e => e.EventId)), "order kept: nothing after the failing event ran before it succeeded");
        Assert.That(host.Attempts[failing], Is.EqualTo(3));
        Assert.That(host.Attempts.Where(kv => kv.Key != failing).All(kv => kv.Value == 1), Is.True);
        await host.StopAsync();
        Assert.That(Interlocked.Read(ref handlerFailures), Is.EqualTo(2), "sor.kafka.consumer.handler_failures");
        Assert.That(Interlocked.Read(ref handled), Is.EqualTo(10), "sor.kafka.consumer.handled");
    }

    [Test]
    public async Task AddKafkaEventConsumerOfHandler_TwoEvents_ScopedHandlerPerEventSeesBoth()
    {
        var topic = KafkaTestSettings.NewTopic("typed");
        _cluster.CreateTopic(topic, partitions: 1);
        var events = await PublishAsync(topic, 2, "typed");
        var services = new ServiceCollection();
        var collector = new Collector();
        services.AddSingleton(collector);
        services.AddKafkaEventConsumer<CollectingHandler>(o => KafkaTestSettings.Consumer(o, _cluster, topic, "group-" + topic));
        await using var provider = services.BuildServiceProvider();
        var service = provider.GetServices<IHostedService>().Single();

        await service.StartAsync(CancellationToken.None);
        await Eventually.UntilAsync(() => collector.Seen.Count >= 2, "the handler saw both events", Deadline);
        await service.StopAsync(CancellationToken.None);

        Assert.That(collector.Seen.Select(s => s.Event.EventId), Is.EqualTo(events.Select(e => e.EventId)));
        Assert.That(collector.Seen.Select(s => s.Handler).Distinct().Count(), Is.EqualTo(2), "a new scoped handler per event");
    }

    [Test]
    public void AddKafkaEventConsumer_MissingSettings_StartupValidationNamesEachOne()
    {
        var services = new ServiceCollection();
        services.AddKafkaEventConsumer(o => o.ConsumerSettings["enable.auto.offset.store"] = "true", (_, _) => ValueTask.CompletedTask);
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(provider.GetRequiredService<IStartupValidator>().Validate);

        Assert.That(failure!.Message, Does.Contain("BootstrapServers").And.Contain("Topic").And.Contain("GroupId").And.Contain("enable.auto.offset.store"));
    }

    private async Task<List<RecordedEvent>> PublishAsync(string topic, int count, string label)
    {
        var events = Enumerable.Range(0, count)
            .Select(i =>
            {
                var id = TimeUuid.Create();
                var bucket = new DateTime(id.GetTimestamp().UtcDateTime.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, DateTimeKind.Utc);
                return new RecordedEvent(bucket, id, topic, $"k{i % 16}", $"{label} {i}", new Dictionary<string, string> { ["label"] = label });
            })
            .ToList();
        await Task.WhenAll(events.Select(e => _publisher.PublishAsync(e, CancellationToken.None).AsTask()));
        return events;
    }

    private void ProducePoison(string topic, Dictionary<string, string>? headers)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = _cluster.BootstrapServers }).Build();
        var message = new Message<string, string> { Key = "poison", Value = "not an event" };
        if (headers is not null)
        {
            message.Headers = [];
            foreach (var (name, value) in headers)
            {
                message.Headers.Add(name, Encoding.UTF8.GetBytes(value));
            }
        }

        producer.ProduceAsync(topic, message).GetAwaiter().GetResult();
    }

    private sealed class Collector
    {
        public System.Collections.Concurrent.ConcurrentQueue<(RecordedEvent Event, CollectingHandler Handler)> Seen { get; } = new();
    }

    private sealed class CollectingHandler(Collector collector) : IEventHandler
    {
        public ValueTask HandleAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
        {
            collector.Seen.Enqueue((recordedEvent, this));
            return ValueTask.CompletedTask;
        }
    }
}
