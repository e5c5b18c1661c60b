using EventSourcing.SystemOfRecord.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Tests.Appending;

/// <summary>What an append refuses before anything is written: what no store or broker accepts.</summary>
public class AppendValidationTests
{
    private InMemoryEventStore _store = default!;
    private ScriptedPublisher _publisher = default!;
    private SystemOfRecord? _sor;

    [SetUp]
    public void SetUp()
    {
        _store = new InMemoryEventStore();
        _publisher = new ScriptedPublisher();
    }

    [TearDown]
    public async Task TearDown()
    {
        if (_sor is not null)
        {
            await _sor.DisposeAsync();
        }
    }

    private SystemOfRecord Open() =>
        _sor = new SystemOfRecord(_store, _publisher, Options.Create(new SystemOfRecordOptions { InstanceName = "app-1" }));

    [Test]
    public void AppendAsync_RecordLargerThanThePublisherTakes_RefusedBeforeAnythingIsWritten()
    {
        _publisher.Limits = new PublishLimits { MaxRecordBytes = 100 };
        var sor = Open();

        Assert.Multiple(() =>
        {
            Assert.That(async () => await sor.AppendAsync(new string('x', 101)), Throws.ArgumentException.With.Message.Contains("101"));
            Assert.That(
                async () => await sor.AppendAsync(new string('x', 50), key: new string('k', 30), headers: new Dictionary<string, string> { ["h"] = new string('v', 20) }),
                Throws.ArgumentException.With.Message.Contains("publisher takes at most 100"));
            Assert.That(_store.Count, Is.Zero);
        });
    }

    [TestCase("orders/eu")]
    [TestCase("")]
    [TestCase("..")]
    [TestCase("é")]
    public void AppendAsync_TopicKafkaRefuses_RefusedBeforeAnythingIsWritten(string topic)
    {
        var sor = Open();

        Assert.That(async () => await sor.AppendAsync("m", topic: topic), Throws.ArgumentException.With.Property("ParamName").EqualTo("topic"));
        Assert.That(_store.Count, Is.Zero);
    }

    [Test]
    public void AppendAsync_TopicOf250Characters_Refused()
    {
        var sor = Open();

        Assert.That(async () => await sor.AppendAsync("m", topic: new string('t', 250)), Throws.ArgumentException.With.Message.Contains("249"));
        Assert.That(async () => await sor.AppendAsync("m", topic: new string('t', 249)), Throws.Nothing);
    }

    [TestCase("ce_type")]
    [TestCase("CE_ID")]
    [TestCase("content-type")]
    [TestCase("traceparent")]
    [TestCase("")]
    public void AppendAsync_ReservedOrEmptyHeaderName_RefusedBeforeAnythingIsWritten(string name)
    {
        var sor = Open();

        Assert.That(async () => await sor.AppendAsync("m", headers: new Dictionary<string, string> { [name] = "v" }), Throws.ArgumentException.With.Property("ParamName").EqualTo("headers"));
        Assert.That(_store.Count, Is.Zero);
    }

    [Test]
    public void AppendAsync_LoneSurrogate_RefusedBeforeAnythingIsWritten()
    {
        var sor = Open();

        Assert.Multiple(() =>
        {
            Assert.That(async () => await sor.AppendAsync("a\uD800b"), Throws.ArgumentException.With.Property("ParamName").EqualTo("message").And.Message.Contains("surrogate"));
            Assert.That(async () => await sor.AppendAsync("m", key: "\uDC00"), Throws.ArgumentException.With.Property("ParamName").EqualTo("key"));
            Assert.That(async () => await sor.AppendAsync("m", headers: new Dictionary<string, string> { ["h"] = "\uD83D" }), Throws.ArgumentException.With.Property("ParamName").EqualTo("headers"));
            Assert.That(async () => await sor.AppendAsync("a pair is fine: \uD83D\uDE00"), Throws.Nothing);
            Assert.That(_store.Count, Is.EqualTo(1));
        });
    }
}
