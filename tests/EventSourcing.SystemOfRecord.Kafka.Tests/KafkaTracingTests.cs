using System.Diagnostics;
using System.Diagnostics.Metrics;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka.Tests;

/// <summary>Producer spans over the wire: parent and links, the context injected into the record, errors.</summary>
[TestFixture]
public sealed class KafkaTracingTests
{
    private const string CreationTraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private KafkaMockCluster _cluster = null!;
    private ActivityCollector _activities = null!;

    [SetUp]
    public void SetUp()
    {
        _cluster = new KafkaMockCluster(brokers: 1);
        _activities = new ActivityCollector();
    }

    [TearDown]
    public void TearDown()
    {
        _activities.Dispose();
        _cluster.Dispose();
    }

    [Test]
    public async Task PublishAsync_NoCurrentActivity_ProducerSpanIsAChildOfTheCreationContextAndTravelsInTheRecord()
    {
        var topic = KafkaTestSettings.NewTopic("send-span");
        _cluster.CreateTopic(topic, partitions: 1, replicationFactor: 1);
        using var publisher = new KafkaEventPublisher(Options.Create(KafkaTestSettings.Publisher(_cluster)));
        var e = Event(topic) with { Type = "orders.placed.v1", TraceParent = CreationTraceParent, TraceState = "congo=t61rcWkgMzE" };

        await publisher.PublishAsync(e, CancellationToken.None);

        var span = _activities.Spans(ActivityKind.Producer, topic).Single();
        var record = TopicReader.ReadAll(_cluster.BootstrapServers, topic, 1).Single();
        Assert.Multiple(() =>
        {
            Assert.That(span.OperationName, Is.EqualTo("send " + topic));
            Assert.That(span.TraceId.ToString(), Is.EqualTo("0af7651916cd43dd8448eb211c80319c"));
            Assert.That(span.ParentSpanId.ToString(), Is.EqualTo("b7ad6b7169203331"));
            Assert.That(span.Links, Is.Empty, "the creation context is the parent, not a link");
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(span.GetTagItem("messaging.system"), Is.EqualTo("kafka"));
            Assert.That(span.GetTagItem("messaging.operation.name"), Is.EqualTo("send"));
            Assert.That(span.GetTagItem("messaging.destination.name"), Is.EqualTo(topic));
            Assert.That(span.GetTagItem("messaging.message.id"), Is.EqualTo(e.EventId.ToString()));
            Assert.That(span.GetTagItem("messaging.kafka.message.key"), Is.EqualTo("order-1"));
            Assert.That(span.GetTagItem("messaging.destination.partition.id"), Is.EqualTo("0"));
            Assert.That(span.GetTagItem("messaging.kafka.offset"), Is.EqualTo(0L));
            Assert.That(span.GetTagItem("cloudevents.event_type"), Is.EqualTo("orders.placed.v1"));
            Assert.That(record.Header("traceparent"), Is.EqualTo(span.Id), "the transport context is the producer span");
            Assert.That(record.Header("ce_traceparent"), Is.EqualTo(CreationTraceParent));
            Assert.That(record.Header("ce_tracestate"), Is.EqualTo("congo=t61rcWkgMzE"));
            Assert.That(Activity.Current, Is.Null, "publishing leaves the caller's current activity alone");
        });
    }

    [Test]
    public async Task PublishAsync_InsideAReplaySpan_ProducerSpanIsItsChildLinkedToTheCreationContext()
    {
        var topic = KafkaTestSettings.NewTopic("replay-span");
        _cluster.CreateTopic(topic, partitions: 1, replicationFactor: 1);
        using var publisher = new KafkaEventPublisher(Options.Create(KafkaTestSettings.Publisher(_cluster)));
        var e = Event(topic) with { TraceParent = CreationTraceParent };

        Activity replay;
        using (replay = ActivityCollector.TestSource.StartActivity("replay")!)
        {
            await publisher.PublishAsync(e, CancellationToken.None);
            Assert.That(Activity.Current, Is.SameAs(replay));
        }

        var span = _activities.Spans(ActivityKind.Producer, topic).Single();
        Assert.Multiple(() =>
        {
            Assert.That(span.TraceId, Is.EqualTo(replay.TraceId));
            Assert.That(span.ParentSpanId, Is.EqualTo(replay.SpanId));
            Assert.That(span.Links.Select(l => l.Context.TraceId.ToString()), Is.EqualTo(new[] { "0af7651916cd43dd8448eb211c80319c" }));
            Assert.That(span.Links.Single().Context.SpanId.ToString(), Is.EqualTo("b7ad6b7169203331"));
            Assert.That(span.GetTagItem("cloudevents.event_type"), Is.EqualTo("tests.event"), "an untyped event goes out with the publisher's type");
        });
    }

    [Test]
    public void PublishAsync_RecordRefusedByTheProducer_SpanEndsWithErrorStatusAndTheFailureIsCounted()
    {
        var topic = KafkaTestSettings.NewTopic("too-large");
        _cluster.CreateTopic(topic, partitions: 1, replicationFactor: 1);
        var options = KafkaTestSettings.Publisher(_cluster);
        options.ProducerSettings["message.max.bytes"] = "1000";
        using var publisher = new KafkaEventPublisher(Options.Create(options));
        var e = new RecordedEvent(DateTime.UnixEpoch, TimeUuid.Create(), topic, "k", new string('x', 5000));
        long failures = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "EventSourcing.SystemOfRecord" && instrument.Name == "sor.kafka.publish.failures")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tags.ToArray().Contains(KeyValuePair.Create<string, object?>("topic", topic)))
            {
                Interlocked.Add(ref failures, value);
            }
        });
        listener.Start();

        Assert.ThrowsAsync<KafkaPublishException>(async () => await publisher.PublishAsync(e, CancellationToken.None));

        var span = _activities.Spans(ActivityKind.Producer, topic).Single();
        Assert.Multiple(() =>
        {
            Assert.That(Interlocked.Read(ref failures), Is.EqualTo(1), "a record the producer refused at once counts as a publish failure");
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(span.GetTagItem("error.type"), Is.EqualTo(nameof(Confluent.Kafka.ErrorCode.MsgSizeTooLarge)));
            Assert.That(span.Events.Select(x => x.Name), Does.Contain("exception"));
        });
    }

    [Test]
    public async Task PublishAsync_BrokerNeverAnswers_SpanEndsWithErrorStatusWhenTheRecordTimesOut()
    {
        var topic = KafkaTestSettings.NewTopic("timeout");
        _cluster.CreateTopic(topic, partitions: 1, replicationFactor: 1);
        using var publisher = new KafkaEventPublisher(Options.Create(KafkaTestSettings.Publisher(_cluster, publishTimeout: TimeSpan.FromSeconds(1))));
        _cluster.SetBrokerDown();

        Assert.ThrowsAsync<KafkaPublishException>(async () => await publisher.PublishAsync(Event(topic), CancellationToken.None));

        await Eventually.UntilAsync(() => _activities.Spans(ActivityKind.Producer, topic).Count == 1, "the producer span ended", Deadline);
        var span = _activities.Spans(ActivityKind.Producer, topic).Single();
        Assert.Multiple(() =>
        {
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(span.GetTagItem("error.type"), Is.EqualTo(nameof(Confluent.Kafka.ErrorCode.Local_MsgTimedOut)));
        });
    }

    [Test]
    public async Task PublishTransactionAsync_ExactlyOnce_ProducerSpansEndAtTheCommitAndTravelInTheRecords()
    {
        var topic = KafkaTestSettings.NewTopic("txn-span");
        var cursors = KafkaTestSettings.NewTopic("cursors");
        _cluster.CreateTopic(topic, partitions: 1, replicationFactor: 1);
        _cluster.CreateTopic(cursors, partitions: 1, replicationFactor: 1);
        var options = KafkaTestSettings.Publisher(_cluster);
        options.ExactlyOnce = true;
        options.CursorTopic = cursors;
        using var publisher = new KafkaEventPublisher(Options.Create(options));
        await publisher.InitializeTransactionsAsync("tracing", CancellationToken.None);
        var events = new[] { Event(topic) with { TraceParent = CreationTraceParent }, Event(topic) };

        await publisher.PublishTransactionAsync(events, events[^1].EventId.ToString(), CancellationToken.None);

        var spans = _activities.Spans(ActivityKind.Producer, topic);
        var records = TopicReader.ReadAll(_cluster.BootstrapServers, topic, 1);
        Assert.Multiple(() =>
        {
            Assert.That(spans.Select(s => s.GetTagItem("messaging.message.id")), Is.EquivalentTo(events.Select(e => e.EventId.ToString())), "one span per event, ended");
            Assert.That(spans.Select(s => s.GetTagItem("messaging.kafka.offset")), Is.EquivalentTo(new object[] { 0L, 1L }));
            Assert.That(spans.All(s => s.Status == ActivityStatusCode.Unset));
            Assert.That(spans.Single(s => (string?)s.GetTagItem("messaging.message.id") == events[0].EventId.ToString()).ParentSpanId.ToString(), Is.EqualTo("b7ad6b7169203331"));
            Assert.That(records.Select(r => r.Header("traceparent")), Is.EquivalentTo(spans.Select(s => s.Id)), "each record carries its send's context");
            Assert.That(_activities.Spans(ActivityKind.Producer, cursors), Is.Empty, "the cursor record is no event: no span");
        });
    }

    [Test]
    public async Task Consume_TypedEventAppendedInATrace_ConsumerSpanIsAChildOfTheSendLinkedToTheCreationAndCurrentInTheHandler()
    {
        var topic = KafkaTestSettings.NewTopic("process-span");
        _cluster.CreateTopic(topic, partitions: 1, replicationFactor: 1);
        var (system, publisher, _) = KafkaTestSettings.CreateSystem(KafkaTestSettings.Publisher(_cluster), topic);
        using var _ = system;
        using var __ = publisher;
        var durations = new System.Collections.Concurrent.ConcurrentQueue<(double Seconds, string? Outcome)>();
        using var meter = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "sor.kafka.consumer.handle.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        meter.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            var all = tags.ToArray();
            if (all.Contains(new KeyValuePair<string, object?>("topic", topic)))
            {
                durations.Enqueue((value, all.FirstOrDefault(t => t.Key == "outcome").Value as string));
            }
        });
        meter.Start();

        Activity append;
        RecordedEvent placed;
        using (append = ActivityCollector.TestSource.StartActivity("place-order")!)
        {
            placed = await system.AppendAsync(new OrderPlaced(1, 1m), key: "order-1");
        }

        await system.AppendAsync(new OrderPlaced(2, 2m), key: "order-2");
        var inHandler = new System.Collections.Concurrent.ConcurrentQueue<Activity?>();
        await using var host = await new TypedConsumerHost(
            _cluster,
            topic,
            "span-group",
            c => c.Handle<OrderPlaced>((e, _, _) =>
            {
                inHandler.Enqueue(Activity.Current);
                return e.OrderId == 2 ? throw new InvalidOperationException("rejected") : ValueTask.CompletedTask;
            }),
            o =>
            {
                o.MaxRetryAttempts = 0;
                o.HandlerFailurePolicy = HandlerFailurePolicy.Skip;
            }).StartAsync();
        await Eventually.UntilAsync(() => _activities.Spans(ActivityKind.Consumer, topic).Count >= 2, "both consumer spans ended", Deadline);

        var send = _activities.Spans(ActivityKind.Producer, topic).First(a => (string?)a.GetTagItem("messaging.message.id") == placed.EventId.ToString());
        var processes = _activities.Spans(ActivityKind.Consumer, topic);
        var process = processes.Single(a => (string?)a.GetTagItem("messaging.message.id") == placed.EventId.ToString());
        var failed = processes.Single(a => a != process);
        Assert.Multiple(() =>
        {
            Assert.That(send.TraceId, Is.EqualTo(append.TraceId));
            Assert.That(send.ParentSpanId, Is.EqualTo(append.SpanId), "appended and sent in the same call: the append's span is the parent");
            Assert.That(process.OperationName, Is.EqualTo("process " + topic));
            Assert.That(process.TraceId, Is.EqualTo(append.TraceId), "one trace from the append to the handler");
            Assert.That(process.ParentSpanId, Is.EqualTo(send.SpanId), "the transport context is the parent");
            Assert.That(process.Links.Single().Context.SpanId, Is.EqualTo(append.SpanId), "linked to the creation context");
            Assert.That(process.GetTagItem("messaging.operation.name"), Is.EqualTo("process"));
            Assert.That(process.GetTagItem("messaging.consumer.group.name"), Is.EqualTo("span-group"));
            Assert.That(process.GetTagItem("messaging.destination.partition.id"), Is.EqualTo("0"));
            Assert.That(process.GetTagItem("messaging.kafka.offset"), Is.EqualTo(0L));
            Assert.That(process.GetTagItem("cloudevents.event_type"), Is.EqualTo("orders.placed.v1"));
            Assert.That(process.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(inHandler.First(), Is.SameAs(process), "the handler runs inside the consumer span");
            Assert.That(failed.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(failed.GetTagItem("error.type"), Is.EqualTo(typeof(InvalidOperationException).FullName));
        });

        await host.StopAsync();
        Assert.That(durations.Select(d => d.Outcome), Is.EquivalentTo(new[] { "handled", "skipped" }));
        Assert.That(durations.All(d => d.Seconds is >= 0 and < 60), Is.True);
    }

    private static RecordedEvent Event(string topic)
    {
        var id = TimeUuid.Create();
        var bucket = new DateTime(id.GetTimestamp().UtcDateTime.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        return new RecordedEvent(bucket, id, topic, "order-1", "{\"order\":1}");
    }
}
