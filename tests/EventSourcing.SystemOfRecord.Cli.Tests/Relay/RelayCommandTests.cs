using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.Tests.Support;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Relay;

/// <summary>
/// <c>sor relay</c> on a SQLite store that application instances (in this process, each with its own store object and
/// producer, as separate processes would) wrote with publish recovery, publishing to librdkafka's mock cluster.
/// </summary>
public sealed class RelayCommandTests : KafkaFixture
{
    private const int MessageTooLarge = 10;

    private readonly List<ApplicationInstance> _applications = [];

    [TearDown]
    public async Task StopApplications()
    {
        foreach (var application in _applications)
        {
            await application.DisposeAsync();
        }

        _applications.Clear();
    }

    private async Task<ApplicationInstance> StartApplicationAsync(string instance, string topic)
    {
        var application = await ApplicationInstance.StartAsync(Store.Path, instance, Cluster.BootstrapServers, topic);
        _applications.Add(application);
        return application;
    }

    private string[] Takeover(string instance, string lease = "1s") =>
        ["relay", "takeover", "--sqlite", Store.Path, "--bootstrap-servers", Cluster.BootstrapServers, "--instance", instance, "--lease", lease];

    /// <summary>Every instance's cursor, read by the library itself.</summary>
    private async Task<Dictionary<string, PublishCursorInfo>> CursorsAsync()
    {
        await using var sor = new SystemOfRecord(Store.Store, new InMemoryEventPublisher(), Options.Create(new SystemOfRecordOptions { BucketIncrement = TestStore.Increment }));
        var cursors = new Dictionary<string, PublishCursorInfo>();
        await foreach (var cursor in sor.GetPublishCursorsAsync())
        {
            cursors[cursor.InstanceName] = cursor;
        }

        return cursors;
    }

    /// <summary>
    /// Appends one event that the broker refuses for good (MESSAGE_TOO_LARGE, which librdkafka does not retry): the
    /// instance parks it. The broker refuses the next produce request, so nothing else may be in flight.
    /// </summary>
    private async Task<RecordedEvent> AppendRefusedAsync(ApplicationInstance application)
    {
        Cluster.PushRequestErrors(KafkaMockCluster.ProduceApiKey, MessageTooLarge);
        var refused = await application.System.AppendAsync("{\"refused\":true}", key: "k");
        Assert.That(async () => await application.System.WhenPublishedAsync(refused), Throws.TypeOf<EventPublishException>(), "parked");
        return refused;
    }

    [Test]
    public async Task List_LiveAndStoppedInstances_ShowsHolderCursorLagReservationAndParkedCounts()
    {
        var topic = NewTopic();
        var live = await StartApplicationAsync("orders-1", topic);
        var first = await live.AppendManyAsync(3);
        await live.WaitUntilStoredCursorPassesAsync(first[^1]);

        var stopped = await StartApplicationAsync("orders-2", topic);
        var published = (await stopped.AppendManyAsync(1))[0];
        await stopped.WaitUntilStoredCursorPassesAsync(published);
        await AppendRefusedAsync(stopped);
        var last = (await stopped.AppendManyAsync(1))[0];
        await stopped.System.WhenPublishedAsync(last);
        await stopped.System.DisposeAsync(); // a clean stop: writes the cursor and lets go

        var clock = new FakeTimeProvider(last.EventId.GetTimestamp() + TimeSpan.FromSeconds(90));
        var table = await Sor.RunAsync(["relay", "list", "--sqlite", Store.Path], null, CancellationToken.None, clock);
        var json = await Sor.RunAsync(["relay", "list", "--sqlite", Store.Path, "--json"], null, CancellationToken.None, clock);

        Assert.That(table.ExitCode, Is.EqualTo(ExitCodes.Success), table.ToString());
        Assert.That(json.ExitCode, Is.EqualTo(ExitCodes.Success), json.ToString());
        var rows = json.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToDictionary(e => e.GetProperty("instance").GetString()!);
        var orders1 = table.Output.Split('\n').Single(l => l.Contains("orders-1", StringComparison.Ordinal));
        var orders2 = table.Output.Split('\n').Single(l => l.Contains("orders-2", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(orders1, Does.Contain("held"));
            Assert.That(orders2, Does.Contain("released").And.Contain("1m30s"), "lag: the tool's now less the cursor's time");
            Assert.That(orders2.TrimEnd().TrimEnd('│').TrimEnd(), Does.EndWith("1"), "one parked event");
            Assert.That(rows.Keys, Is.EquivalentTo(new[] { "orders-1", "orders-2" }));
            Assert.That(rows["orders-1"].GetProperty("released").GetBoolean(), Is.False);
            Assert.That(rows["orders-1"].GetProperty("parked").GetInt64(), Is.Zero);
            Assert.That(rows["orders-2"].GetProperty("released").GetBoolean(), Is.True);
            Assert.That(rows["orders-2"].GetProperty("cursor").GetString(), Is.EqualTo(last.EventId.ToString()), "a clean stop leaves the cursor at its last event");
            Assert.That(rows["orders-2"].GetProperty("lagSeconds").GetDouble(), Is.EqualTo(90));
            Assert.That(rows["orders-2"].GetProperty("parked").GetInt64(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task List_NoInstanceEverRanWithRecovery_SaysSo()
    {
        await Store.AddManyAsync(TestStore.Origin, 3, TimeSpan.FromSeconds(1));

        var run = await Sor.RunAsync(["relay", "list", "--sqlite", Store.Path]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.That(run.Output, Does.Contain("No publish cursors"));
    }

    [Test]
    public async Task Parked_AnInstanceWhoseBrokerRefusedAnEvent_ListsItWithBucketAndReason()
    {
        var topic = NewTopic();
        var application = await StartApplicationAsync("orders-1", topic);
        var before = await application.AppendManyAsync(2);
        await application.System.WhenPublishedAsync(before[^1]);
        var refused = await AppendRefusedAsync(application);

        var table = await Sor.RunAsync(["relay", "parked", "--sqlite", Store.Path, "--instance", "orders-1"]);
        var json = await Sor.RunAsync(["relay", "parked", "--sqlite", Store.Path, "--instance", "orders-1", "--json"]);
        var none = await Sor.RunAsync(["relay", "parked", "--sqlite", Store.Path, "--instance", "orders-2"]);

        var bucket = Time.Arg(refused.TimeBucket)[..19] + "Z";
        Assert.That(table.ExitCode, Is.EqualTo(ExitCodes.Success), table.ToString());
        var line = JsonDocument.Parse(json.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single()).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(table.Output, Does.Contain(refused.EventId.ToString()).And.Contain(bucket));
            Assert.That(table.Output, Does.Contain("sor republish --from " + bucket));
            Assert.That(line.GetProperty("eventId").GetString(), Is.EqualTo(refused.EventId.ToString()));
            Assert.That(line.GetProperty("bucket").GetString(), Is.EqualTo(bucket));
            Assert.That(line.GetProperty("instance").GetString(), Is.EqualTo("orders-1"));
            Assert.That(line.GetProperty("reason").GetString(), Is.Not.Empty);
            Assert.That(none.ExitCode, Is.EqualTo(ExitCodes.Success), none.ToString());
            Assert.That(none.Output, Does.Contain("Instance orders-2 has no parked events"));
        });
    }

    [Test]
    public async Task Parked_InvalidInstanceName_ExitsUsage()
    {
        var run = await Sor.RunAsync(["relay", "parked", "--sqlite", Store.Path, "--instance", "orders 1"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Usage), run.ToString());
        Assert.That(run.Error, Does.Contain("not an instance name"));
    }

    [Test]
    public async Task Takeover_InstanceDiedWithEventsInFlight_PublishesExactlyThoseAndLetsTheNameGo()
    {
        var topic = NewTopic(partitions: 3);
        var application = await StartApplicationAsync("orders-1", topic);
        var published = await application.AppendManyAsync(20);
        await application.WaitUntilStoredCursorPassesAsync(published[^1]);
        application.HoldPublishes();
        var inFlight = await application.AppendManyAsync(15);

        // Another instance's events among them: its own pipeline publishes those, never this takeover.
        for (var i = 0; i < 3; i++)
        {
            await Store.AddAsync(DateTime.UtcNow, topic, instance: "orders-2");
        }

        await application.CrashAsync();
        var dead = (await CursorsAsync())["orders-1"];
        Assert.That(dead.IsReleased, Is.False, "the crash left the record live");
        Assert.That(IdsOnTopic(topic, partitions: 3), Has.Count.EqualTo(20), "the events in flight never reached Kafka");

        var run = await Sor.RunAsync(Takeover("orders-1"));

        var after = (await CursorsAsync())["orders-1"];
        var ids = IdsOnTopic(topic, partitions: 3);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Output, Does.Contain("Its last holder did not let go: watching its record for 1s"));
            Assert.That(run.Output, Does.Contain("Done: instance orders-1 is caught up: 15 events published"));
            Assert.That(run.Output, Does.Contain("The name is let go"));
            Assert.That(ids.Order(), Is.EqualTo(published.Concat(inFlight).Select(e => e.EventId.ToString()).Order()), "the 15 in flight, once; nothing published twice; no other instance's event");
            Assert.That(after.IsReleased, Is.True);
            Assert.That(after.Cursor, Is.GreaterThanOrEqualTo(inFlight[^1].EventId));
        });
    }

    [Test]
    public async Task Takeover_LiveHolder_IsRefusedWithExitCode6AndTheHolderRunsOn()
    {
        var topic = NewTopic();
        var application = await StartApplicationAsync("orders-1", topic);
        await application.AppendManyAsync(2);

        // The holder renews every quarter of its 1 s lease; the takeover is refused at the first change it sees. Watching
        // for 5 s (not 1 s) keeps a holder that a loaded machine stalls for a second from being taken for dead.
        var run = await Sor.RunAsync(Takeover("orders-1", lease: "5s"));

        var later = (await application.AppendManyAsync(1))[0];
        Assert.Multiple(async () =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Refused), run.ToString());
            Assert.That(run.Error, Does.Contain("Instance 'orders-1' is held by a live process"));
            Assert.That(run.Error, Does.Not.Contain("   at "));
            Assert.That(application.System.GetPublishStatus().State, Is.Not.EqualTo(PublishState.Fenced), "the live holder was not taken over");
            Assert.That(async () => await application.System.WhenPublishedAsync(later).WaitAsync(TimeSpan.FromSeconds(30)), Throws.Nothing);
            Assert.That((await CursorsAsync())["orders-1"].IsReleased, Is.False);
        });
    }

    [Test]
    public async Task Takeover_NoSuchInstance_ExitsNotFound()
    {
        var run = await Sor.RunAsync(Takeover("nobody"));

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.NotFound), run.ToString());
        Assert.That(run.Error, Does.Contain("There is no publish cursor for instance 'nobody'"));
    }

    [Test]
    public async Task Takeover_BrokerUnreachable_ExitsBrokerUnavailableWithoutTouchingTheCursor()
    {
        var application = await StartApplicationAsync("orders-1", NewTopic());
        await application.AppendManyAsync(1);
        await application.CrashAsync();
        var before = (await CursorsAsync())["orders-1"];

        var run = await Sor.RunAsync(["relay", "takeover", "--sqlite", Store.Path, "--bootstrap-servers", $"127.0.0.1:{ClosedPort()}", "--connect-timeout", "1s", "--instance", "orders-1"]);

        Assert.Multiple(async () =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.BrokerUnavailable), run.ToString());
            Assert.That((await CursorsAsync())["orders-1"], Is.EqualTo(before), "the lease was not claimed");
        });
    }

    [Test]
    [Category("Slow")] // waits out a 5 s lease
    public async Task Takeover_CtrlCWhileWatchingTheLease_ExitsCancelledAndStillLetsTheNameGo()
    {
        var topic = NewTopic();
        var application = await StartApplicationAsync("orders-1", topic);
        await application.AppendManyAsync(3);
        await application.CrashAsync();
        using var ctrlC = new CancellationTokenSource();

        // A 5 s lease: the Ctrl+C must land while the takeover watches, and a loaded machine may see the line late (with
        // 2 s the takeover could claim the name and catch up first). The stop lets the start end, so the test takes 5 s.
        var running = Sor.Start(Takeover("orders-1", lease: "5s"), ctrlC.Token, out var output);
        await Eventually.UntilAsync(() => running.IsCompleted || output().Contains("watching its record", StringComparison.Ordinal), "the takeover watches the dead holder's record");
        await ctrlC.CancelAsync();
        var run = await running;

        Assert.Multiple(async () =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Cancelled), run.ToString());
            Assert.That(run.Output, Does.Contain("Stopped"));
            Assert.That((await CursorsAsync())["orders-1"].IsReleased, Is.True, "the start it began was let finish, then let go: no holder left behind");
        });
    }
}
