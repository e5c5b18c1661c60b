namespace EventSourcing.SystemOfRecord.Tests.Serialization;

public sealed class EventTypeRegistryTests
{
    [Test]
    public void GetName_NoMappingNoAttribute_IsTheTypeName()
    {
        Assert.That(new EventTypeRegistry().GetName<OrderShipped>(), Is.EqualTo("OrderShipped"));
    }

    [Test]
    public void GetName_Attribute_IsTheAttributeName()
    {
        Assert.That(new EventTypeRegistry().GetName<OrderPlaced>(), Is.EqualTo("orders.placed.v1"));
    }

    [Test]
    public void GetName_Mapped_MappingWinsOverAttribute()
    {
        var registry = new EventTypeRegistry();
        var before = registry.GetName<OrderPlaced>();

        registry.Map<OrderPlaced>("orders.placed.v2");

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.EqualTo("orders.placed.v1"));
            Assert.That(registry.GetName<OrderPlaced>(), Is.EqualTo("orders.placed.v2"));
        });
    }

    [Test]
    public void Map_SameMappingTwice_IsHarmless()
    {
        var registry = new EventTypeRegistry().Map<OrderShipped>("shipped").Map<OrderShipped>("shipped");

        Assert.That(registry.GetName<OrderShipped>(), Is.EqualTo("shipped"));
    }

    [Test]
    public void Map_TypeToSecondName_Throws()
    {
        var registry = new EventTypeRegistry().Map<OrderShipped>("shipped");

        var failure = Assert.Throws<ArgumentException>(() => registry.Map<OrderShipped>("sent"));

        Assert.That(failure!.Message, Does.Contain("already mapped to the event type 'shipped'"));
    }

    [Test]
    public void Map_NameToSecondType_Throws()
    {
        var registry = new EventTypeRegistry().Map<OrderShipped>("orders");

        var failure = Assert.Throws<ArgumentException>(() => registry.Map<OrderPlaced>("orders"));

        Assert.That(failure!.Message, Does.Contain("already mapped to").And.Contain(nameof(OrderShipped)));
    }

    [TestCase("")]
    [TestCase("  ")]
    [TestCase(" padded")]
    [TestCase("line\nbreak")]
    public void Map_InvalidName_Throws(string name)
    {
        Assert.Throws<ArgumentException>(() => new EventTypeRegistry().Map<OrderShipped>(name));
    }

    [Test]
    public void Map_NameTooLong_Throws()
    {
        Assert.Throws<ArgumentException>(() => new EventTypeRegistry().Map<OrderShipped>(new string('x', EventTypeRegistry.MaxNameLength + 1)));
    }

    [Test]
    public void GetName_AttributeWithEmptyName_ThrowsNamingTheType()
    {
        var failure = Assert.Throws<ArgumentException>(() => new EventTypeRegistry().GetName<BadlyNamed>());

        Assert.That(failure!.Message, Does.Contain(nameof(BadlyNamed)));
    }
}
