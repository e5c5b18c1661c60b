using System.Text;
using Confluent.Kafka;

namespace EventSourcing.SystemOfRecord.Kafka.Tests;

[TestFixture]
public sealed class CloudEventsKafkaBindingTests
{
    private static RecordedEvent Sample(IReadOnlyDictionary<string, string>? headers = null)
    {
        var id = TimeUuid.Create(new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1234567));
        return new RecordedEvent(new DateTime(2024, 5, 6, 7, 8, 0, DateTimeKind.Utc), id, "orders", "order-42", "{\"total\":\"€12\"}", headers);
    }

    [Test]
    public void ToMessage_Event_WritesBinaryModeHeadersKeyAndValue()
    {
        var e = Sample(new Dictionary<string, string> { ["trace"] = "abc", ["ce_id"] = "spoofed" });

        var message = CloudEventsKafkaBinding.ToMessage(e, "/src", "my.type", "application/json");

        string Header(string name) => Encoding.UTF8.GetString(message.Headers.GetLastBytes(name));
        Assert.Multiple(() =>
        {
            Assert.That(Header("ce_specversion"), Is.EqualTo("1.0"));
            Assert.That(Header("ce_id"), Is.EqualTo(e.EventId.ToString()));
            Assert.That(Header("ce_source"), Is.EqualTo("/src"));
            Assert.That(Header("ce_type"), Is.EqualTo("my.type"));
            Assert.That(Header("ce_time"), Is.EqualTo("2024-05-06T07:08:09.1234567Z"));
            Assert.That(Header("ce_timebucket"), Is.EqualTo("2024-05-06T07:08:00.0000000Z"));
            Assert.That(Header("content-type"), Is.EqualTo("application/json"));
            Assert.That(Header("trace"), Is.EqualTo("abc"));
            Assert.That(message.Headers.Count(h => h.Key == "ce_id"), Is.EqualTo(1), "an event header cannot spoof a CloudEvents attribute");
            Assert.That(Encoding.UTF8.GetString(message.Key!), Is.EqualTo("order-42"));
            Assert.That(Encoding.UTF8.GetString(message.Value), Is.EqualTo(e.Message));
        });
    }

    [Test]
    public void TryToRecordedEvent_MessageWeWrote_GivesTheSameEventBack()
    {
        var e = Sample(new Dictionary<string, string> { ["trace"] = "abc" });
        var written = CloudEventsKafkaBinding.ToMessage(e, "/src", "t", null);

        var ok = CloudEventsKafkaBinding.TryToRecordedEvent("orders", new Message<byte[]?, byte[]?> { Key = written.Key, Value = written.Value, Headers = written.Headers }, out var read, out var problem);

        Assert.That(ok, Is.True, problem);
        Assert.That(read, Is.EqualTo(e with { Type = "t" }), "an untyped event reads back with the publisher's ce_type");
    }

    [Test]
    public void ToMessage_TypedEventWithTraceContext_SendsItsTypeContentTypeAndCreationContext()
    {
        var e = Sample(new Dictionary<string, string> { ["trace"] = "abc", ["traceparent"] = "spoofed", ["ce_other"] = "x" }) with
        {
            Type = "orders.placed.v1",
            ContentType = "application/json",
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            TraceState = "congo=t61rcWkgMzE",
        };

        var message = CloudEventsKafkaBinding.ToMessage(e, "/src", "fallback.type", "text/plain");

        string? Header(string name) => message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
        Assert.Multiple(() =>
        {
            Assert.That(Header("ce_type"), Is.EqualTo("orders.placed.v1"));
            Assert.That(Header("content-type"), Is.EqualTo("application/json"));
            Assert.That(Header("ce_traceparent"), Is.EqualTo(e.TraceParent));
            Assert.That(Header("ce_tracestate"), Is.EqualTo(e.TraceState));
            Assert.That(Header("traceparent"), Is.Null, "the transport context is the producer span's, never an event header");
            Assert.That(Header("ce_other"), Is.Null, "ce_ names belong to the binding");
            Assert.That(Header("trace"), Is.EqualTo("abc"));
        });
    }

    [Test]
    public void TryToRecordedEvent_TypedEventWithTraceContext_GivesTheSameEventBack()
    {
        var e = Sample(new Dictionary<string, string> { ["trace"] = "abc" }) with
        {
            Type = "orders.placed.v1",
            ContentType = "application/json",
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            TraceState = "congo=t61rcWkgMzE",
        };
        var written = CloudEventsKafkaBinding.ToMessage(e, "/src", "fallback.type", null);
        written.Headers.Add("traceparent", "00-11111111111111111111111111111111-2222222222222222-01"u8.ToArray());

        var ok = CloudEventsKafkaBinding.TryToRecordedEvent("orders", new Message<byte[]?, byte[]?> { Key = written.Key, Value = written.Value, Headers = written.Headers }, out var read, out var problem);

        Assert.That(ok, Is.True, problem);
        Assert.That(read, Is.EqualTo(e), "type, content type, creation context and headers; the transport traceparent is not an event header");
    }

    [Test]
    public void ToMessage_UntypedEvent_FallsBackToThePublisherTypeAndContentType()
    {
        var message = CloudEventsKafkaBinding.ToMessage(Sample(), "/src", "fallback.type", "text/plain");

        Assert.Multiple(() =>
        {
            Assert.That(Encoding.UTF8.GetString(message.Headers.GetLastBytes("ce_type")), Is.EqualTo("fallback.type"));
            Assert.That(Encoding.UTF8.GetString(message.Headers.GetLastBytes("content-type")), Is.EqualTo("text/plain"));
            Assert.That(message.Headers.TryGetLastBytes("ce_traceparent", out _), Is.False);
        });
    }

    [TestCase(null, "0", "2024-05-06T07:08:00Z", "ce_specversion")]
    [TestCase("0.3", "0", "2024-05-06T07:08:00Z", "ce_specversion")]
    [TestCase("1.0", "not-a-uuid", "2024-05-06T07:08:00Z", "ce_id")]
    [TestCase("1.0", "0", "yesterday", "ce_timebucket")]
    [TestCase("1.0", "0", "2030-01-01T00:00:00Z", "ce_timebucket")]
    public void TryToRecordedEvent_PoisonRecord_SaysWhy(string? specVersion, string id, string bucket, string named)
    {
        var e = Sample();
        var headers = new Headers();
        if (specVersion is not null)
        {
            headers.Add("ce_specversion", Encoding.UTF8.GetBytes(specVersion));
        }

        headers.Add("ce_id", Encoding.UTF8.GetBytes(id == "0" ? e.EventId.ToString() : id));
        headers.Add("ce_timebucket", Encoding.UTF8.GetBytes(bucket));

        var ok = CloudEventsKafkaBinding.TryToRecordedEvent("orders", new Message<byte[]?, byte[]?> { Value = "{}"u8.ToArray(), Headers = headers }, out var read, out var problem);

        Assert.That(ok, Is.False);
        Assert.That(read, Is.Null);
        Assert.That(problem, Does.Contain(named));
    }

    [Test]
    public void TryToRecordedEvent_ValueNotUtf8_IsPoison()
    {
        var written = CloudEventsKafkaBinding.ToMessage(Sample(), "/src", "t", null);

        var ok = CloudEventsKafkaBinding.TryToRecordedEvent("orders", new Message<byte[]?, byte[]?> { Value = [0xC3, 0x28], Headers = written.Headers }, out _, out var problem);

        Assert.That(ok, Is.False);
        Assert.That(problem, Does.Contain("UTF-8"));
    }
}
