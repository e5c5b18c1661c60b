using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.Tests.Support;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Reconcile;

/// <summary><c>sor reconcile</c>: a SQLite store against a topic of librdkafka's mock cluster that lost records.</summary>
public sealed class ReconcileCommandTests : KafkaFixture
{
    private static readonly DateTime Origin = TestStore.Origin;

    private string[] Args(string topic, params string[] more) =>
        ["reconcile", "--sqlite", Store.Path, "--bootstrap-servers", Cluster.BootstrapServers, "--topic", topic, "--from", Time.Arg(Origin), "--to", Time.Arg(Origin.AddMinutes(2)), .. more];

    [Test]
    public async Task Reconcile_TopicLostRecords_ReportsThemPerBucket_RepairSendsExactlyThose_ThenConsistent()
    {
        var topic = NewTopic();
        var events = await Store.AddManyAsync(Origin, 90, TimeSpan.FromSeconds(1), topic);
        await PublishAsync(events);
        Cluster.DeleteRecords(topic, 0, 25); // the broker loses the first 25 acknowledged records
        var lost = events.Take(25).Select(e => e.EventId.ToString()).ToList();

        var found = await Sor.RunAsync(Args(topic, "--json"));
        var table = await Sor.RunAsync(Args(topic));
        var repaired = await Sor.RunAsync(Args(topic, "--repair"));
        var after = await Sor.RunAsync(Args(topic));

        Assert.That(found.ExitCode, Is.EqualTo(ExitCodes.Differences), found.ToString());
        using var json = JsonDocument.Parse(found.Output);
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("storedEvents").GetInt64(), Is.EqualTo(90));
            Assert.That(root.GetProperty("topicEvents").GetInt64(), Is.EqualTo(65));
            Assert.That(root.GetProperty("missing").GetInt64(), Is.EqualTo(25));
            Assert.That(root.GetProperty("unexpected").GetInt64(), Is.Zero);
            Assert.That(
                root.GetProperty("differences").EnumerateArray().SelectMany(d => d.GetProperty("missing").EnumerateArray()).Select(id => id.GetString()),
                Is.EqualTo(lost),
                "exactly the lost ids, in order");
            Assert.That(
                root.GetProperty("differences").EnumerateArray().Select(d => d.GetProperty("bucket").GetString()),
                Is.EqualTo(new[] { "2026-03-01T10:00:00Z", "2026-03-01T10:00:15Z" }),
                "seconds 0 to 24: the first two buckets");

            Assert.That(table.ExitCode, Is.EqualTo(ExitCodes.Differences));
            Assert.That(table.Output, Does.Contain("Buckets that differ"));
            Assert.That(table.Output, Does.Match(@"2026-03-01T10:00:15Z\s+│\s+10\s+│\s+0"), "bucket 10:00:15 lacks 10 events");
            Assert.That(table.Output, Does.Contain("--repair"));

            Assert.That(repaired.ExitCode, Is.EqualTo(ExitCodes.Success), repaired.ToString());
            Assert.That(repaired.Output, Does.Contain("Repaired: republished 25 of the 25 missing events"));
            Assert.That(IdsOnTopic(topic), Has.Count.EqualTo(65 + 25), "only the missing events were sent again");

            Assert.That(after.ExitCode, Is.EqualTo(ExitCodes.Success), after.ToString());
            Assert.That(after.Output, Does.Contain("The topic holds exactly the stored events of the range."));
        });
    }

    [Test]
    public async Task Reconcile_IdTheStoreDoesNotHold_IsUnexpectedAndNoRepairClearsIt()
    {
        var topic = NewTopic();
        var events = await Store.AddManyAsync(Origin, 5, TimeSpan.FromSeconds(1), topic);
        var stranger = new RecordedEvent(Origin, TimeUuid.Create(new DateTimeOffset(Origin.AddSeconds(30))), topic, null, "{}");
        await PublishAsync([.. events, stranger]);

        var run = await Sor.RunAsync(Args(topic, "--repair", "--json"));

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Differences), run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        Assert.Multiple(() =>
        {
            Assert.That(json.RootElement.GetProperty("unexpected").GetInt64(), Is.EqualTo(1));
            Assert.That(json.RootElement.GetProperty("missing").GetInt64(), Is.Zero);
            Assert.That(json.RootElement.GetProperty("differences")[0].GetProperty("unexpected")[0].GetString(), Is.EqualTo(stranger.EventId.ToString()));
        });
    }

    [Test]
    public async Task Reconcile_StoreHoldsOtherTopicsToo_ComparesOnlyTheTopicsOwnEvents()
    {
        var topic = NewTopic(partitions: 3);
        var mine = await Store.AddManyAsync(Origin, 30, TimeSpan.FromSeconds(2), topic, key: i => "k" + i);
        await Store.AddManyAsync(Origin, 30, TimeSpan.FromSeconds(2), "another-topic");
        await PublishAsync(mine);

        var run = await Sor.RunAsync(Args(topic));

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.That(run.Output, Does.Match(@"Stored events\s+30\b"));
    }

    [Test]
    public async Task Reconcile_EndMargin_StopsAtRecordsStampedAfterTheRange()
    {
        // The records are stamped now, long after the range (2026-03-01): with an end margin they are not read.
        var topic = NewTopic();
        var events = await Store.AddManyAsync(Origin, 4, TimeSpan.FromSeconds(1), topic);
        await PublishAsync(events);

        var toTheEnd = await Sor.RunAsync(Args(topic));
        var withMargin = await Sor.RunAsync(Args(topic, "--end-margin", "1m", "--json"));

        Assert.That(toTheEnd.ExitCode, Is.EqualTo(ExitCodes.Success), toTheEnd.ToString());
        Assert.That(withMargin.ExitCode, Is.EqualTo(ExitCodes.Differences), withMargin.ToString());
        using var json = JsonDocument.Parse(withMargin.Output);
        Assert.That(json.RootElement.GetProperty("missing").GetInt64(), Is.EqualTo(4));
    }

    [Test]
    public async Task Reconcile_RangeInYearOne_ReadsTheTopicFromTheEpochInsteadOfFailing()
    {
        // The seek margin (5 minutes) reaches back past DateTime.MinValue.
        var topic = NewTopic();
        await PublishAsync(await Store.AddManyAsync(Origin, 2, TimeSpan.FromSeconds(1), topic));

        var run = await Sor.RunAsync(["reconcile", "--sqlite", Store.Path, "--bootstrap-servers", Cluster.BootstrapServers, "--topic", topic, "--from", "0001-01-01T00:00:00Z", "--to", "0001-01-01T00:01:00Z", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        Assert.That(json.RootElement.GetProperty("missing").GetInt64(), Is.Zero);
    }

    [Test]
    public async Task Reconcile_EndMarginPastTheLastTime_ReadsToThePartitionEndsInsteadOfFailing()
    {
        var topic = NewTopic();
        await PublishAsync(await Store.AddManyAsync(Origin, 2, TimeSpan.FromSeconds(1), topic));

        var run = await Sor.RunAsync(["reconcile", "--sqlite", Store.Path, "--bootstrap-servers", Cluster.BootstrapServers, "--topic", topic, "--from", "9999-12-31T23:58:00Z", "--to", "9999-12-31T23:59:00Z", "--end-margin", "5m", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        Assert.That(json.RootElement.GetProperty("missing").GetInt64(), Is.Zero);
    }

    [Test]
    public async Task Reconcile_RecordsWithoutCloudEventsId_AreCountedAndIgnored()
    {
        var topic = NewTopic();
        var events = await Store.AddManyAsync(Origin, 3, TimeSpan.FromSeconds(1), topic);
        await PublishAsync(events);
        using (var producer = new Confluent.Kafka.ProducerBuilder<Confluent.Kafka.Null, string>(new Confluent.Kafka.ProducerConfig { BootstrapServers = Cluster.BootstrapServers }).Build())
        {
            await producer.ProduceAsync(topic, new Confluent.Kafka.Message<Confluent.Kafka.Null, string> { Value = "not a cloud event" });
        }

        var run = await Sor.RunAsync(Args(topic, "--json"));

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        Assert.That(json.RootElement.GetProperty("recordsWithoutEventId").GetInt64(), Is.EqualTo(1));
    }

    [Test]
    public async Task Reconcile_NoSuchTopic_ExitsNotFound()
    {
        var run = await Sor.RunAsync(Args("no-such-topic-" + Guid.NewGuid().ToString("N")[..6]));

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.NotFound), run.ToString());
        Assert.That(run.Error, Does.Contain("has no topic"));
    }

    [Test]
    public async Task Reconcile_BrokerUnreachable_ExitsBrokerUnavailable()
    {
        var run = await Sor.RunAsync(["reconcile", "--sqlite", Store.Path, "--bootstrap-servers", $"127.0.0.1:{ClosedPort()}", "--connect-timeout", "1s", "--topic", "t", "--from", Time.Arg(Origin), "--to", Time.Arg(Origin.AddMinutes(1))]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.BrokerUnavailable), run.ToString());
    }
}
