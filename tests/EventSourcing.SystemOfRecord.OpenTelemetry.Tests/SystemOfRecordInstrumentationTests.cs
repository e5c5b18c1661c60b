using System.Collections.Concurrent;
using System.Diagnostics;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace EventSourcing.SystemOfRecord.OpenTelemetry.Tests;

[EventType("orders.placed.v1")]
public sealed record OrderPlaced(int OrderId, decimal Total);

/// <summary>
/// What an OpenTelemetry user sees, exported in memory: one trace from <c>AppendAsync</c> through Kafka (the librdkafka
/// mock cluster, over the wire) to the handler, and a replay whose spans link back to it.
/// </summary>
[TestFixture]
public sealed class SystemOfRecordInstrumentationTests
{
    private static readonly ActivitySource Checkout = new("Shop.Checkout");
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private KafkaMockCluster _cluster = null!;
    private ServiceProvider _provider = null!;
    private TracerProvider _tracing = null!;
    private MeterProvider _metering = null!;
    // The exporters add from the threads that end spans and export metrics while the test reads: a list behind a lock.
    private LockedCollection<Activity> _spans = null!;
    private LockedCollection<Metric> _metrics = null!;
    private ConcurrentQueue<(OrderPlaced Event, ActivityContext Context)> _handled = null!;
    private string _topic = null!;

    [SetUp]
    public async Task SetUp()
    {
        _spans = new();
        _metrics = new();
        _handled = new();
        _tracing = Sdk.CreateTracerProviderBuilder().AddSource(Checkout.Name).AddSystemOfRecordInstrumentation().AddInMemoryExporter(_spans).Build()!;
        _metering = Sdk.CreateMeterProviderBuilder().AddSystemOfRecordInstrumentation().AddInMemoryExporter(_metrics).Build()!;
        _cluster = new KafkaMockCluster(brokers: 1);
        _topic = "orders-" + Guid.NewGuid().ToString("N")[..8];
        _cluster.CreateTopic(_topic, partitions: 1, replicationFactor: 1);

        var services = new ServiceCollection();
        services.AddSystemOfRecord(o =>
            {
                o.DefaultTopic = _topic;
                o.BucketIncrement = TimeSpan.FromSeconds(1);
            })
            .UseInMemory()
            .UseKafka(k => k.BootstrapServers = _cluster.BootstrapServers);
        services.AddKafkaEventConsumer(o =>
            {
                o.BootstrapServers = _cluster.BootstrapServers;
                o.Topic = _topic;
                o.GroupId = "billing";
                o.ConsumerSettings["fetch.wait.max.ms"] = "50";
            })
            .Handle<OrderPlaced>((e, _, _) =>
            {
                _handled.Enqueue((e, Activity.Current!.Context));
                return ValueTask.CompletedTask;
            });
        _provider = services.BuildServiceProvider();
        foreach (var hosted in _provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }

    [TearDown]
    public async Task TearDown()
    {
        foreach (var hosted in _provider.GetServices<IHostedService>())
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
        _cluster.Dispose();
        _tracing.Dispose();
        _metering.Dispose();
    }

    private SystemOfRecord System => _provider.GetRequiredService<SystemOfRecord>();

    [Test]
    public async Task AppendAsync_InACheckoutSpan_OneTraceReachesTheHandlerThroughKafka()
    {
        Activity checkout;
        using (checkout = Checkout.StartActivity("checkout")!)
        {
            await System.AppendAsync(new OrderPlaced(42, 9.5m), key: "order-42");
        }

        await Eventually.UntilAsync(() => !_handled.IsEmpty, "the handler got the order", Deadline);
        var consumer = _provider.GetServices<IHostedService>().OfType<BackgroundService>().Single();
        await Eventually.UntilAsync(() => Spans(ActivityKind.Consumer).Count == 1, "the consumer span ended", Deadline);
        _tracing.ForceFlush();

        var trace = Exported().Where(s => s.TraceId == checkout.TraceId).ToList();
        var append = trace.Single(s => s.OperationName == "sor.append");
        var send = trace.Single(s => s.Kind == ActivityKind.Producer);
        var process = trace.Single(s => s.Kind == ActivityKind.Consumer);
        var (handledEvent, handlerContext) = _handled.Single();
        Assert.Multiple(() =>
        {
            Assert.That(handledEvent, Is.EqualTo(new OrderPlaced(42, 9.5m)));
            Assert.That(append.ParentSpanId, Is.EqualTo(checkout.SpanId));
            Assert.That(send.DisplayName, Is.EqualTo("send " + _topic));
            Assert.That(send.ParentSpanId, Is.EqualTo(checkout.SpanId));
            Assert.That(process.DisplayName, Is.EqualTo("process " + _topic));
            Assert.That(process.ParentSpanId, Is.EqualTo(send.SpanId), "the consumer continues the producer's span");
            Assert.That(handlerContext.TraceId, Is.EqualTo(checkout.TraceId), "the handler runs in the checkout's trace");
            Assert.That(handlerContext.SpanId, Is.EqualTo(process.SpanId));
            Assert.That(process.GetTagItem("messaging.system"), Is.EqualTo("kafka"));
            Assert.That(process.GetTagItem("cloudevents.event_type"), Is.EqualTo("orders.placed.v1"));
            Assert.That(consumer.ExecuteTask!.IsCompleted, Is.False);
        });

        _metering.ForceFlush();
        var metrics = _metrics.Snapshot();
        Assert.That(metrics.Select(m => m.Name), Does.Contain("sor.kafka.consumer.handle.duration").And.Contain("sor.kafka.records.acknowledged").And.Contain("sor.events.appended"));
        var duration = metrics.First(m => m.Name == "sor.kafka.consumer.handle.duration");
        Assert.That(duration.Unit, Is.EqualTo("s"));
        Assert.That(duration.MetricType, Is.EqualTo(MetricType.Histogram));
    }

    [Test]
    public async Task RepublishDateRangeAsync_OfATracedEvent_ItsSendSpanIsInTheReplayTraceAndLinksToTheOriginal()
    {
        var from = DateTime.UtcNow.AddSeconds(-1);
        Activity checkout;
        using (checkout = Checkout.StartActivity("checkout")!)
        {
            await System.AppendAsync(new OrderPlaced(7, 1m), key: "order-7");
        }

        await Eventually.UntilAsync(() => _handled.Count == 1, "the handler got the order", Deadline);

        var republished = await System.RepublishDateRangeAsync(from, DateTime.UtcNow.AddSeconds(1));
        await Eventually.UntilAsync(() => _handled.Count == 2, "the handler got the replayed order", Deadline);
        await Eventually.UntilAsync(() => Spans(ActivityKind.Consumer).Count == 2, "both consumer spans ended", Deadline);
        _tracing.ForceFlush();

        var replay = Exported().Single(s => s.OperationName == "sor.republish");
        var resend = Exported().Single(s => s.Kind == ActivityKind.Producer && s.TraceId == replay.TraceId);
        var reprocess = Exported().Single(s => s.Kind == ActivityKind.Consumer && s.TraceId == replay.TraceId);
        Assert.Multiple(() =>
        {
            Assert.That(republished, Is.EqualTo(1));
            Assert.That(replay.TraceId, Is.Not.EqualTo(checkout.TraceId), "the replay is a trace of its own");
            Assert.That(resend.ParentSpanId, Is.EqualTo(replay.SpanId));
            Assert.That(resend.Links.Select(l => (l.Context.TraceId, l.Context.SpanId)), Is.EqualTo(new[] { (checkout.TraceId, checkout.SpanId) }),
                "the replayed send links to the span that appended the event");
            Assert.That(reprocess.ParentSpanId, Is.EqualTo(resend.SpanId));
            Assert.That(reprocess.Links.Select(l => l.Context.TraceId), Is.EqualTo(new[] { checkout.TraceId }));
            Assert.That(_handled.Last().Context.TraceId, Is.EqualTo(replay.TraceId));
        });
    }

    private List<Activity> Exported() => _spans.Snapshot();

    private List<Activity> Spans(ActivityKind kind) => [.. Exported().Where(s => s.Kind == kind)];

    /// <summary>A list whose every member takes one lock, so the test can read what an exporter adds on another thread.</summary>
    private sealed class LockedCollection<T> : ICollection<T>
    {
        private readonly List<T> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<T> Snapshot()
        {
            lock (_items)
            {
                return [.. _items];
            }
        }

        public void Add(T item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(T item)
        {
            lock (_items)
            {
                return _items.Contains(item);
            }
        }

        public void CopyTo(T[] array, int arrayIndex)
        {
            lock (_items)
            {
                _items.CopyTo(array, arrayIndex);
            }
        }

        public bool Remove(T item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
