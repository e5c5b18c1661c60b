using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.Read;
using EventSourcing.SystemOfRecord.Cli.Tests.Support;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Read;

public sealed class ReadCommandTests
{
    private static readonly DateTime Origin = TestStore.Origin;

    private static readonly string[] Fields =
        ["eventId", "timestamp", "timeBucket", "topic", "key", "type", "contentType", "instance", "traceParent", "traceState", "headers", "message"];

    private TestStore _store = null!;

    [SetUp]
    public async Task SetUp() => _store = await TestStore.CreateAsync();

    [TearDown]
    public async Task TearDown() => await _store.DisposeAsync();

    private static List<JsonElement> Lines(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    [Test]
    public async Task Read_Bucket_PrintsEachOfItsEventsAsOneJsonLineInIdOrder()
    {
        var inBucket = await _store.AddManyAsync(Origin.AddSeconds(3), 4, TimeSpan.FromSeconds(2), key: i => "k" + i);
        await _store.AddAsync(Origin.AddSeconds(16));

        var run = await Sor.RunAsync(["read", "--sqlite", _store.Path, "--bucket", Time.Arg(Origin.AddSeconds(9))]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        var lines = Lines(run.Output);
        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(l => l.GetProperty("eventId").GetString()), Is.EqualTo(inBucket.Select(e => e.EventId.ToString())));
            Assert.That(lines[0].EnumerateObject().Select(p => p.Name), Is.EqualTo(Fields), "every field of RecordedEvent, in a fixed order");
            Assert.That(lines[1].GetProperty("key").GetString(), Is.EqualTo("k1"));
            Assert.That(lines[1].GetProperty("message").GetString(), Is.EqualTo("{\"n\":1}"));
            Assert.That(lines[1].GetProperty("timeBucket").GetString(), Is.EqualTo("2026-03-01T10:00:00Z"));
            Assert.That(lines[1].GetProperty("timestamp").GetString(), Is.EqualTo("2026-03-01T10:00:05Z"));
        });
    }

    [Test]
    public async Task Read_RangeWithTopicAndKey_PrintsOnlyMatchingEventsInOrder()
    {
        var wanted = new List<RecordedEvent>
        {
            await _store.AddAsync(Origin.AddSeconds(1), "orders", "a"),
            await _store.AddAsync(Origin.AddSeconds(40), "orders", "a"),
        };
        await _store.AddAsync(Origin.AddSeconds(2), "orders", "b");
        await _store.AddAsync(Origin.AddSeconds(3), "payments", "a");
        await _store.AddAsync(Origin.AddMinutes(5), "orders", "a");

        var run = await Sor.RunAsync(["read", "--sqlite", _store.Path, "--from", Time.Arg(Origin), "--to", Time.Arg(Origin.AddMinutes(1)), "--topic", "orders", "--key", "a"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.That(Lines(run.Output).Select(l => l.GetProperty("eventId").GetString()), Is.EqualTo(wanted.Select(e => e.EventId.ToString())));
    }

    [Test]
    public async Task Read_Limit_StopsAfterThatManyEvents()
    {
        await _store.AddManyAsync(Origin, 10, TimeSpan.FromSeconds(1));

        var run = await Sor.RunAsync(["read", "--sqlite", _store.Path, "--from", Time.Arg(Origin), "--to", Time.Arg(Origin.AddMinutes(1)), "--limit", "3"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.That(Lines(run.Output), Has.Count.EqualTo(3));
    }

    [Test]
    public async Task Read_StoreFailsMidRead_ExitsStoreUnavailableNamingTheFile()
    {
        await _store.AddManyAsync(Origin, 3, TimeSpan.FromSeconds(1));
        await using (var connection = new SqliteConnection($"Data Source={_store.Path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE events SET headers = 'not json';"; // a row the store cannot read
            await command.ExecuteNonQueryAsync();
        }

        var run = await Sor.RunAsync(["read", "--sqlite", _store.Path, "--bucket", Time.Arg(Origin)]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.StoreUnavailable), run.ToString());
        Assert.That(run.Error, Does.Contain(_store.Path).And.Not.Contain("Unexpected"));
    }

    [TestCase("--bucket", "now", "--from", "now-1h", "--to", "now")]
    [TestCase("--from", "now-1h")]
    [TestCase("--limit", "0", "--bucket", "now")]
    public async Task Read_ContradictoryOrIncompleteSelection_ExitsUsage(params string[] selection)
    {
        var run = await Sor.RunAsync(["read", "--sqlite", _store.Path, .. selection]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Usage), run.ToString());
        Assert.That(run.Error, Does.Contain("error:"));
    }

    [Test]
    public void EventJson_EveryFieldSet_WritesEachAndEscapesNothingNeedlessly()
    {
        var id = TimeUuid.Create(new DateTimeOffset(Origin.AddSeconds(1)));
        var recorded = new RecordedEvent(Origin, id, "orders", "k-1", "{\"total\":\"5 €\"}", new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" })
        {
            Type = "order.placed",
            ContentType = "application/json",
            Instance = "app-1",
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            TraceState = "congo=t61rcWkgMzE",
        };

        var line = new EventJson().Format(recorded);

        Assert.That(line, Is.EqualTo(
            "{\"eventId\":\"" + id + "\",\"timestamp\":\"2026-03-01T10:00:01Z\",\"timeBucket\":\"2026-03-01T10:00:00Z\",\"topic\":\"orders\",\"key\":\"k-1\","
            + "\"type\":\"order.placed\",\"contentType\":\"application/json\",\"instance\":\"app-1\","
            + "\"traceParent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\",\"traceState\":\"congo=t61rcWkgMzE\","
            + "\"headers\":{\"a\":\"1\",\"b\":\"2\"},\"message\":\"{\\\"total\\\":\\\"5 €\\\"}\"}"));
    }
}
