using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.Tests.Support;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Stats;

public sealed class StatsCommandTests
{
    private static readonly DateTime Origin = TestStore.Origin;

    private TestStore _store = null!;
    private List<RecordedEvent> _events = null!;

    [SetUp]
    public async Task SetUp()
    {
        _store = await TestStore.CreateAsync();

        // Buckets 0, 1 and 3 of a four-bucket range hold 3, 1 and 5 events; one more event lies past the range.
        _events =
        [
            .. await _store.AddManyAsync(Origin.AddSeconds(1), 3, TimeSpan.FromSeconds(2)),
            await _store.AddAsync(Origin.AddSeconds(20), topic: "payments"),
            .. await _store.AddManyAsync(Origin.AddSeconds(46), 5, TimeSpan.FromSeconds(1)),
        ];
        await _store.AddAsync(Origin.AddMinutes(2));
    }

    [TearDown]
    public async Task TearDown() => await _store.DisposeAsync();

    private string[] Args(params string[] more) =>
        ["stats", "--sqlite", _store.Path, "--from", Time.Arg(Origin), "--to", Time.Arg(Origin.AddMinutes(1)), .. more];

    [Test]
    public async Task Stats_Range_PrintsCountsFirstAndLastEventLargestBucketsAndChart()
    {
        var run = await Sor.RunAsync(Args());

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(run.Output, Does.Contain("4 in the range, 3 with events"));
            Assert.That(run.Output, Does.Match(@"Events\s+9\b"));
            Assert.That(run.Output, Does.Contain(_events[0].EventId.ToString()), "first event");
            Assert.That(run.Output, Does.Contain(_events[^1].EventId.ToString()), "last event");
            Assert.That(run.Output, Does.Contain("Largest buckets"));
            Assert.That(run.Output, Does.Match(@"2026-03-01T10:00:45Z\s+│\s+5"), "the largest bucket first");
            Assert.That(run.Output, Does.Contain("Events per topic"));
            Assert.That(run.Output, Does.Contain("Events per bucket (15s)"));
            Assert.That(run.Output, Does.Contain("no bucket"), "none over the guidance");
            Assert.That(run.Error, Is.Empty);
        });
    }

    [Test]
    public async Task Stats_Json_ReportsEveryNumberOnce()
    {
        var run = await Sor.RunAsync(Args("--json"));

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("events").GetInt64(), Is.EqualTo(9));
            Assert.That(root.GetProperty("buckets").GetInt64(), Is.EqualTo(4));
            Assert.That(root.GetProperty("bucketsWithEvents").GetInt64(), Is.EqualTo(3));
            Assert.That(root.GetProperty("incrementSeconds").GetDouble(), Is.EqualTo(15));
            Assert.That(root.GetProperty("firstEvent").GetProperty("eventId").GetString(), Is.EqualTo(_events[0].EventId.ToString()));
            Assert.That(root.GetProperty("lastEvent").GetProperty("eventId").GetString(), Is.EqualTo(_events[^1].EventId.ToString()));
            var largest = root.GetProperty("largestBuckets").EnumerateArray().Select(b => (b.GetProperty("bucket").GetString(), b.GetProperty("events").GetInt64())).ToList();
            Assert.That(largest, Is.EqualTo(new[] { ("2026-03-01T10:00:45Z", 5L), ("2026-03-01T10:00:00Z", 3L), ("2026-03-01T10:00:15Z", 1L) }));
            Assert.That(root.GetProperty("bucketsOverGuidance").GetInt64(), Is.Zero);
            var topics = root.GetProperty("topics").EnumerateArray().ToDictionary(t => t.GetProperty("topic").GetString()!, t => t.GetProperty("events").GetInt64());
            Assert.That(topics, Is.EqualTo(new Dictionary<string, long> { ["orders"] = 8, ["payments"] = 1 }));
            var bars = root.GetProperty("chart").GetProperty("bars").EnumerateArray().Select(b => b.GetProperty("events").GetInt64()).ToList();
            Assert.That(bars, Is.EqualTo(new long[] { 3, 1, 0, 5 }), "one bar per bucket, empty ones included");
        });
    }

    [Test]
    public async Task Stats_RangeOfTwoDays_ChartsEventsPerHour()
    {
        var run = await Sor.RunAsync(["stats", "--sqlite", _store.Path, "--from", Time.Arg(Origin.AddHours(-24)), "--to", Time.Arg(Origin.AddHours(24)), "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        var chart = json.RootElement.GetProperty("chart");
        var bars = chart.GetProperty("bars").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(chart.GetProperty("barSeconds").GetDouble(), Is.EqualTo(3600));
            Assert.That(bars, Has.Count.EqualTo(48));
            Assert.That(bars.Sum(b => b.GetProperty("events").GetInt64()), Is.EqualTo(10), "every event of the range in some bar");
            Assert.That(bars[24].GetProperty("start").GetString(), Is.EqualTo("2026-03-01T10:00:00Z"));
            Assert.That(bars[24].GetProperty("events").GetInt64(), Is.EqualTo(10));
        });
    }

    [Test]
    public async Task Stats_Png_SavesAChartImage()
    {
        var path = _store.Folder.File("chart.png");

        var run = await Sor.RunAsync(Args("--png", path));

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.Multiple(() =>
        {
            Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG signature");
            Assert.That(bytes, Has.Length.GreaterThan(5_000), "a real picture, not an empty one");
            Assert.That(run.Error, Does.Contain("Chart saved to"));
        });
    }

    [Test]
    public async Task Stats_EmptyRange_SaysSoAndSucceeds()
    {
        var run = await Sor.RunAsync(["stats", "--sqlite", _store.Path, "--from", Time.Arg(Origin.AddDays(-2)), "--to", Time.Arg(Origin.AddDays(-1))]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.That(run.Output, Does.Contain("No events in the range."));
    }

    [Test]
    public async Task Stats_NoSuchFile_ExitsStoreUnavailableWithoutAStackTrace()
    {
        var path = _store.Folder.File("missing.db");

        var run = await Sor.RunAsync(["stats", "--sqlite", path, "--from", "now-1h", "--to", "now"]);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.StoreUnavailable), run.ToString());
            Assert.That(run.Error, Does.Contain($"There is no SQLite file at {path}."));
            Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace without --verbose");
            Assert.That(File.Exists(path), Is.False, "the tool never creates a store");
        });
    }

    [Test]
    public async Task Stats_SqliteFileThatIsNoStore_ExitsStoreUnavailableAndLeavesTheFileAlone()
    {
        var path = _store.Folder.File("other.db");
        await File.WriteAllBytesAsync(path, []);

        var run = await Sor.RunAsync(["stats", "--sqlite", path, "--from", "now-1h", "--to", "now"]);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.StoreUnavailable), run.ToString());
            Assert.That(run.Error, Does.Contain("holds no system of record"));
            Assert.That(new FileInfo(path).Length, Is.Zero, "no schema was written into it");
        });
    }

    [Test]
    public async Task Stats_RangeFromYearOne_CountsEveryEventInBarsOfManyDays()
    {
        // Bars are aligned to the Unix epoch; the first bar of this range would start before DateTime.MinValue.
        var run = await Sor.RunAsync(["stats", "--sqlite", _store.Path, "--from", "0001-01-01T00:00:00Z", "--to", "9999-12-31T00:00:00Z", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        Assert.That(json.RootElement.GetProperty("events").GetInt64(), Is.EqualTo(_events.Count + 1));
    }

    [Test]
    public async Task Stats_Verbose_ShowsTheStackTraceOfAFailure()
    {
        var path = _store.Folder.File("not-sqlite.db");
        await File.WriteAllTextAsync(path, "this is not a SQLite database, it is a text file long enough to have a header");

        var run = await Sor.RunAsync(["stats", "--sqlite", path, "--from", "now-1h", "--to", "now", "--verbose"]);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.StoreUnavailable), run.ToString());
            Assert.That(run.Error, Does.Contain("Cannot open the SQLite file"));
            Assert.That(run.Error, Does.Contain("   at "), "the details with --verbose");
        });
    }
}
