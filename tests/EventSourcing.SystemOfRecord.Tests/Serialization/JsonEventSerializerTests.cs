using System.Text.Json;

namespace EventSourcing.SystemOfRecord.Tests.Serialization;

public sealed class JsonEventSerializerTests
{
    [Test]
    public void Serialize_DefaultOptions_WritesCamelCaseJsonThatReadsBack()
    {
        var serializer = JsonEventSerializer.Default;

        var json = serializer.Serialize(new OrderPlaced(42, 9.5m), typeof(OrderPlaced));
        var back = serializer.Deserialize(json, typeof(OrderPlaced));

        Assert.Multiple(() =>
        {
            Assert.That(json, Is.EqualTo("{\"orderId\":42,\"total\":9.5}"));
            Assert.That(back, Is.EqualTo(new OrderPlaced(42, 9.5m)));
            Assert.That(serializer.ContentType, Is.EqualTo("application/json"));
        });
    }

    [Test]
    public void Serialize_SourceGeneratedResolver_UsesItsMetadata()
    {
        var serializer = new JsonEventSerializer(TestEventsContext.Default.Options);

        var json = serializer.Serialize(new OrderShipped(7, "ups"), typeof(OrderShipped));

        Assert.That(json, Is.EqualTo("{\"orderId\":7,\"carrier\":\"ups\"}"));
    }

    [Test]
    public void Deserialize_JsonNull_ThrowsJsonException()
    {
        Assert.Throws<JsonException>(() => JsonEventSerializer.Default.Deserialize("null", typeof(OrderPlaced)));
    }
}
