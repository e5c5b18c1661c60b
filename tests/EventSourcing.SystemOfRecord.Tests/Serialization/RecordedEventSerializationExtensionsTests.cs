namespace EventSourcing.SystemOfRecord.Tests.Serialization;

public sealed class RecordedEventSerializationExtensionsTests
{
    private static RecordedEvent Event(string message, string? type, string? contentType = "application/json")
    {
        var id = TimeUuid.Create();
        return new RecordedEvent(DateTime.UnixEpoch, id, "events", null, message) { Type = type, ContentType = contentType };
    }

    [Test]
    public void Deserialize_JsonMessage_ReadsTheEvent()
    {
        var recorded = Event("{\"orderId\":42,\"total\":9.5}", "orders.placed.v1");

        Assert.That(recorded.Deserialize<OrderPlaced>(), Is.EqualTo(new OrderPlaced(42, 9.5m)));
    }

    [Test]
    public void Deserialize_UntypedEventWithoutContentType_ReadsTheJson()
    {
        var recorded = Event("{\"orderId\":1,\"carrier\":\"dhl\"}", type: null, contentType: null);

        Assert.That(recorded.Deserialize<OrderShipped>(), Is.EqualTo(new OrderShipped(1, "dhl")));
    }

    [Test]
    public void Deserialize_JsonTypeInfo_ReadsTheEvent()
    {
        var recorded = Event("{\"orderId\":42,\"total\":1}", "orders.placed.v1", "application/json; charset=utf-8");

        Assert.That(recorded.Deserialize(TestEventsContext.Default.OrderPlaced), Is.EqualTo(new OrderPlaced(42, 1m)));
    }

    [Test]
    public void Deserialize_NotJson_ThrowsEventDeserializationExceptionNamingTheEvent()
    {
        var recorded = Event("not json", "orders.placed.v1");

        var failure = Assert.Throws<EventDeserializationException>(() => recorded.Deserialize<OrderPlaced>());

        Assert.Multiple(() =>
        {
            Assert.That(failure!.EventId, Is.EqualTo(recorded.EventId));
            Assert.That(failure.EventType, Is.EqualTo("orders.placed.v1"));
            Assert.That(failure.TargetType, Is.EqualTo(typeof(OrderPlaced)));
            Assert.That(failure.Message, Does.Contain(recorded.EventId.ToString()));
            Assert.That(failure.IsTransient, Is.False);
        });
    }

    [Test]
    public void Deserialize_OtherContentType_Throws()
    {
        var recorded = Event("{}", "orders.placed.v1", "application/protobuf");

        var failure = Assert.Throws<EventDeserializationException>(() => recorded.Deserialize<OrderPlaced>());

        Assert.That(failure!.Message, Does.Contain("application/protobuf"));
    }

    [Test]
    public void TryDeserialize_MatchingType_ReturnsTheEvent()
    {
        var recorded = Event("{\"orderId\":3,\"total\":2}", "orders.placed.v1");

        Assert.Multiple(() =>
        {
            Assert.That(recorded.TryDeserialize<OrderPlaced>(out var placed), Is.True);
            Assert.That(placed, Is.EqualTo(new OrderPlaced(3, 2m)));
            Assert.That(recorded.TryDeserialize(TestEventsContext.Default.OrderPlaced, out var generated), Is.True);
            Assert.That(generated, Is.EqualTo(new OrderPlaced(3, 2m)));
        });
    }

    [Test]
    public void TryDeserialize_OtherTypeUntypedOrUnreadable_ReturnsFalse()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Event("{\"orderId\":3,\"total\":2}", "orders.placed.v1").TryDeserialize<OrderShipped>(out _), Is.False, "another type");
            Assert.That(Event("{\"orderId\":3,\"total\":2}", null).TryDeserialize<OrderPlaced>(out _), Is.False, "untyped");
            Assert.That(Event("{broken", "orders.placed.v1").TryDeserialize<OrderPlaced>(out _), Is.False, "unreadable");
            Assert.That(Event("{}", "orders.placed.v1", "text/plain").TryDeserialize<OrderPlaced>(out _), Is.False, "another content type");
        });
    }

    [Test]
    public void TryDeserialize_RegistryAndSerializer_UsesTheirNameAndEncoding()
    {
        var types = new EventTypeRegistry().Map<OrderShipped>("shipping.shipped");
        var recorded = Event("{\"orderId\":5,\"carrier\":\"ups\"}", "shipping.shipped");

        Assert.Multiple(() =>
        {
            Assert.That(recorded.TryDeserialize<OrderShipped>(JsonEventSerializer.Default, types, out var shipped), Is.True);
            Assert.That(shipped, Is.EqualTo(new OrderShipped(5, "ups")));
            Assert.That(recorded.TryDeserialize<OrderShipped>(out _), Is.False, "without the registry the name is the type name");
        });
    }
}
