using System.Diagnostics;
using EventSourcing.SystemOfRecord.Tests.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Tests;

public sealed class SystemOfRecordTypedTests
{
    private InMemoryEventStore _store = null!;
    private InMemoryEventPublisher _publisher = null!;
    private List<RecordedEvent> _published = null!;

    [SetUp]
    public void SetUp()
    {
        _store = new InMemoryEventStore();
        _publisher = new InMemoryEventPublisher();
        _published = [];
        _publisher.Subscribe((e, _) =>
        {
            lock (_published)
            {
                _published.Add(e);
            }

            return ValueTask.CompletedTask;
        });
    }

    [TearDown]
    public void TearDown() => _publisher.Dispose();

    private SystemOfRecord Create() => new(_store, _publisher, Options.Create(new SystemOfRecordOptions()));

    [Test]
    public async Task AppendAsyncOfT_Event_StoresJsonTypeNameAndContentTypeAndPublishesIt()
    {
        using var sor = Create();

        var recorded = await sor.AppendAsync(new OrderPlaced(42, 9.5m), key: "order-42");

        var stored = await ReadAsync(sor, recorded.TimeBucket);
        Assert.Multiple(() =>
        {
            Assert.That(recorded.Message, Is.EqualTo("{\"orderId\":42,\"total\":9.5}"));
            Assert.That(recorded.Type, Is.EqualTo("orders.placed.v1"));
            Assert.That(recorded.ContentType, Is.EqualTo("application/json"));
            Assert.That(recorded.Key, Is.EqualTo("order-42"));
            Assert.That(stored, Is.EqualTo(new[] { recorded }));
            Assert.That(_published, Is.EqualTo(new[] { recorded }));
            Assert.That(recorded.Deserialize<OrderPlaced>(), Is.EqualTo(new OrderPlaced(42, 9.5m)));
        });
    }

    [Test]
    public void AppendOfT_Blocking_StoresTheTypedEvent()
    {
        using var sor = Create();

        var recorded = sor.Append(new OrderShipped(7, "ups"));

        Assert.Multiple(() =>
        {
            Assert.That(recorded.Type, Is.EqualTo("OrderShipped"));
            Assert.That(recorded.ContentType, Is.EqualTo("application/json"));
            Assert.That(_published.Single().Deserialize<OrderShipped>(), Is.EqualTo(new OrderShipped(7, "ups")));
        });
    }

    [Test]
    public async Task AppendAsyncOfT_JsonTypeInfo_UsesTheSourceGeneratedMetadata()
    {
        using var sor = Create();

        var recorded = await sor.AppendAsync(new OrderShipped(1, "dhl"), TestEventsContext.Default.OrderShipped);
        var blocking = sor.Append(new OrderPlaced(2, 3m), TestEventsContext.Default.OrderPlaced, key: "k");

        Assert.Multiple(() =>
        {
            Assert.That(recorded.Message, Is.EqualTo("{\"orderId\":1,\"carrier\":\"dhl\"}"));
            Assert.That(recorded.Type, Is.EqualTo("OrderShipped"));
            Assert.That(recorded.ContentType, Is.EqualTo("application/json"));
            Assert.That(blocking.Type, Is.EqualTo("orders.placed.v1"));
            Assert.That(blocking.Key, Is.EqualTo("k"));
        });
    }

    [Test]
    public async Task AppendAsyncOfT_UnserializableEvent_ThrowsArgumentExceptionAndWritesNothing()
    {
        using var sor = Create();

        var failure = Assert.ThrowsAsync<ArgumentException>(async () => await sor.AppendAsync(new Unserializable()));

        Assert.That(failure!.ParamName, Is.EqualTo("event"));
        Assert.That(failure.Message, Does.Contain(nameof(Unserializable)).And.Contain("Nothing was written"));
        Assert.That(await ReadAllAsync(), Is.Empty);
        Assert.That(_published, Is.Empty);
    }

    [Test]
    public async Task AppendAsync_StringMessage_StaysUntyped()
    {
        using var sor = Create();

        var recorded = await sor.AppendAsync("{\"order\":42}");

        Assert.Multiple(() =>
        {
            Assert.That(recorded.Message, Is.EqualTo("{\"order\":42}"));
            Assert.That(recorded.Type, Is.Null);
            Assert.That(recorded.ContentType, Is.Null);
        });
    }

    [Test]
    public async Task AppendAsync_InsideAnActivity_StoresItsTraceContext()
    {
        using var source = new ActivitySource("typed-tests");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var sor = Create();

        RecordedEvent recorded;
        string expectedParent;
        using (var activity = source.StartActivity("place-order")!)
        {
            activity.TraceStateString = "vendor=abc";
            expectedParent = activity.Id!;
            recorded = await sor.AppendAsync(new OrderPlaced(1, 1m));
        }

        var outside = await sor.AppendAsync("{}");

        Assert.Multiple(() =>
        {
            Assert.That(recorded.TraceParent, Is.EqualTo(expectedParent));
            Assert.That(recorded.TraceParent, Does.Match("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$"));
            Assert.That(recorded.TraceState, Is.EqualTo("vendor=abc"));
            Assert.That(outside.TraceParent, Is.Null);
            Assert.That(outside.TraceState, Is.Null);
        });
    }

    [Test]
    public async Task AddSystemOfRecord_MappedTypeAndCustomSerializer_TypedAppendsUseThem()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord()
            .MapEventType<OrderShipped>("shipping.shipped.v1")
            .UseEventSerializer(new UpperCaseSerializer());
        await using var provider = services.BuildServiceProvider();
        var sor = provider.GetRequiredService<SystemOfRecord>();

        var recorded = await sor.AppendAsync(new OrderShipped(3, "ups"));

        Assert.Multiple(() =>
        {
            Assert.That(recorded.Type, Is.EqualTo("shipping.shipped.v1"));
            Assert.That(recorded.ContentType, Is.EqualTo("text/x-upper"));
            Assert.That(recorded.Message, Is.EqualTo("ORDERSHIPPED"));
            Assert.That(provider.GetRequiredService<IEventSerializer>(), Is.InstanceOf<UpperCaseSerializer>());
        });
    }

    [Test]
    public void AddEventSerialization_Default_IsTheJsonSerializerAndCallsAddUp()
    {
        var services = new ServiceCollection();
        services.AddEventSerialization(t => t.Map<OrderShipped>("a"));
        services.AddEventSerialization(t => t.Map<OrderPlaced>("b"));
        using var provider = services.BuildServiceProvider();

        var types = provider.GetRequiredService<EventTypeRegistry>();
        Assert.Multiple(() =>
        {
            Assert.That(provider.GetRequiredService<IEventSerializer>(), Is.SameAs(JsonEventSerializer.Default));
            Assert.That(types.GetName<OrderShipped>(), Is.EqualTo("a"));
            Assert.That(types.GetName<OrderPlaced>(), Is.EqualTo("b"));
        });
    }

    private static async Task<List<RecordedEvent>> ReadAsync(SystemOfRecord sor, DateTime bucket)
    {
        var events = new List<RecordedEvent>();
        await foreach (var e in sor.ReadBucketAsync(bucket))
        {
            events.Add(e);
        }

        return events;
    }

    private async Task<List<RecordedEvent>> ReadAllAsync()
    {
        var events = new List<RecordedEvent>();
        await foreach (var e in _store.ReadRangeAsync(DateTime.UnixEpoch, DateTime.UtcNow.AddDays(1)))
        {
            events.Add(e);
        }

        return events;
    }

    private sealed class Unserializable
    {
        // System.Text.Json refuses IntPtr properties.
        public IntPtr Handle { get; init; }
    }

    private sealed class UpperCaseSerializer : IEventSerializer
    {
        public string ContentType => "text/x-upper";

        public string Serialize(object @event, Type eventType) => eventType.Name.ToUpperInvariant();

        public object Deserialize(string message, Type eventType) => throw new NotSupportedException();
    }
}
