using EventSourcing.SystemOfRecord.Sqlite.Internal;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Internal;

public sealed class HeadersJsonTests
{
    [Test]
    public void Decode_OfEncode_RoundTripsAwkwardText()
    {
        var headers = new Dictionary<string, string>
        {
            ["plain"] = "value",
            ["empty"] = string.Empty,
            ["quotes \" and \\"] = "line\nbreak\ttab\u0000nul",
            ["ünïcødé 日本"] = "🎉 <script>&amp;",
        };

        var decoded = HeadersJson.Decode(HeadersJson.Encode(headers));

        Assert.That(decoded, Is.EquivalentTo(headers));
    }

    [Test]
    public void Encode_NoHeaders_IsNullAndDecodesToEmpty()
    {
        Assert.That(HeadersJson.Encode(new Dictionary<string, string>()), Is.Null);
        Assert.That(HeadersJson.Decode(null), Is.Empty);
    }

    [TestCase("[1,2]")]
    [TestCase("{\"a\":1}")]
    [TestCase("{\"a\":")]
    public void Decode_NotAnObjectOfStrings_ThrowsFormatException(string json)
    {
        Assert.That(() => HeadersJson.Decode(json), Throws.InstanceOf<FormatException>());
    }
}
