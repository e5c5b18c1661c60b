using EventSourcing.SystemOfRecord.Cli.Republish;
using EventSourcing.SystemOfRecord.Cli.Tests.Support;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Republish;

/// <summary><c>sor republish</c> from a SQLite store to librdkafka's mock cluster, over the Kafka wire protocol.</summary>
public sealed class RepublishCommandTests : KafkaFixture
{
    private static readonly DateTime Origin = TestStore.Origin;

    private string[] Args(DateTime from, DateTime to, params string[] more) =>
        ["republish", "--sqlite", Store.Path, "--bootstrap-servers", Cluster.BootstrapServers, "--from", Time.Arg(from), "--to", Time.Arg(to), .. more];

    private async Task<List<KeyValuePair<string, string>>> CheckpointsAsync()
    {
        var list = new List<KeyValuePair<string, string>>();
        await foreach (var checkpoint in Store.Store.ReadCheckpointsAsync(string.Empty))
        {
            list.Add(checkpoint);
        }

        return list;
    }

    [Test]
    public async Task Republish_Range_PublishesEachStoredEventOnceAndLeavesNoCheckpoint()
    {
        var topic = NewTopic(partitions: 3);
        var events = await Store.AddManyAsync(Origin, 120, TimeSpan.FromSeconds(1), topic, key: i => "k" + (i % 7));
        await Store.AddAsync(Origin.AddMinutes(3), topic); // past the range

        var run = await Sor.RunAsync(Args(Origin, Origin.AddMinutes(2)));

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        var ids = IdsOnTopic(topic, partitions: 3);
        Assert.Multiple(async () =>
        {
            Assert.That(ids.Order(), Is.EqualTo(events.Select(e => e.EventId.ToString()).Order()), "each stored event of the range, once");
            Assert.That(run.Output, Does.Contain("Done: 120 events republished over 8 buckets"));
            Assert.That(await CheckpointsAsync(), Is.Empty, "an unnamed run deletes its checkpoint when it completes");
        });
    }

    [Test]
    public async Task Republish_Named_KeepsItsCompleteCheckpointAndRefusesASecondRunWithoutResume()
    {
        var topic = NewTopic();
        await Store.AddManyAsync(Origin, 10, TimeSpan.FromSeconds(3), topic);

        var first = await Sor.RunAsync(Args(Origin, Origin.AddMinutes(1), "--name", "nightly"));
        var again = await Sor.RunAsync(Args(Origin, Origin.AddMinutes(1), "--name", "nightly"));
        var resumed = await Sor.RunAsync(["republish", "--sqlite", Store.Path, "--bootstrap-servers", Cluster.BootstrapServers, "--name", "nightly", "--resume"]);

        Assert.Multiple(async () =>
        {
            Assert.That(first.ExitCode, Is.EqualTo(ExitCodes.Success), first.ToString());
            var checkpoints = await CheckpointsAsync();
            Assert.That(checkpoints.Select(c => c.Key), Is.EqualTo(new[] { "replay/nightly" }));
            Assert.That(again.ExitCode, Is.EqualTo(ExitCodes.Refused), again.ToString());
            Assert.That(again.Error, Does.Contain("has a checkpoint already").And.Contain("--resume").And.Contain("sor checkpoints delete replay/nightly"));
            Assert.That(resumed.ExitCode, Is.EqualTo(ExitCodes.Success), resumed.ToString());
            Assert.That(resumed.Output, Does.Contain("0 events republished").And.Contain("already completed"));
            Assert.That(IdsOnTopic(topic), Has.Count.EqualTo(10), "the completed replay sent nothing again");
        });
    }

    [Test]
    public async Task Republish_CtrlC_StopsAtAnExactCheckpointAndResumeDeliversTheRestOnce()
    {
        var topic = NewTopic();
        var events = await Store.AddManyAsync(Origin, 1_500, TimeSpan.FromMilliseconds(200), topic);
        using var ctrlC = new CancellationTokenSource();

        // Slow enough (100 events/s) that Ctrl+C lands mid-range; stopped once some records are on the topic. Reading
        // the rest takes 15 s, so the run cannot end before the Ctrl+C however late a loaded machine sees the records
        // (with 300 events it could: 3 s of reading, and the first acknowledgements may lag seconds behind).
        var running = Sor.RunAsync(Args(Origin, Origin.AddMinutes(5), "--name", "big", "--rate", "100"), null, ctrlC.Token);
        await Eventually.UntilAsync(
            () => running.IsCompleted || TopicReader.Watermarks(Cluster.BootstrapServers, topic, 1)[0].High >= 30,
            "30 records reached the topic");
        await ctrlC.CancelAsync();
        var stopped = await running;

        var checkpoint = await Sor.RunAsync(["checkpoints", "list", "--sqlite", Store.Path, "--prefix", "replay/"]);
        var resumed = await Sor.RunAsync(["republish", "--sqlite", Store.Path, "--bootstrap-servers", Cluster.BootstrapServers, "--name", "big", "--resume"]);

        var ids = IdsOnTopic(topic);
        Assert.Multiple(() =>
        {
            Assert.That(stopped.ExitCode, Is.EqualTo(ExitCodes.Cancelled), stopped.ToString());
            Assert.That(stopped.Output, Does.Contain("Stopped; checkpoint replay/big: buckets").And.Contain("Continue with: sor republish --name big --resume"));
            Assert.That(checkpoint.Output, Does.Contain("replay/big").And.Contain("next bucket").And.Not.Contain("complete"), "stopped mid-range: " + checkpoint);
            Assert.That(resumed.ExitCode, Is.EqualTo(ExitCodes.Success), resumed.ToString());
            Assert.That(ids, Has.Count.EqualTo(1_500), "the stop and the resume together sent each event exactly once");
            Assert.That(ids.Order(), Is.EqualTo(events.Select(e => e.EventId.ToString()).Order()));
        });
    }

    [Test]
    public async Task Republish_ResumeOfAnUnknownReplay_ExitsNotFound()
    {
        var run = await Sor.RunAsync(["republish", "--sqlite", Store.Path, "--bootstrap-servers", Cluster.BootstrapServers, "--name", "never-ran", "--resume"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.NotFound), run.ToString());
        Assert.That(run.Error, Does.Contain("There is no replay 'never-ran' to resume"));
    }

    [Test]
    public async Task Republish_ResumeWithAnotherRange_ExitsUsage()
    {
        var topic = NewTopic();
        await Store.AddManyAsync(Origin, 3, TimeSpan.FromSeconds(1), topic);
        var first = await Sor.RunAsync(Args(Origin, Origin.AddMinutes(1), "--name", "r1"));

        var run = await Sor.RunAsync(Args(Origin, Origin.AddMinutes(2), "--name", "r1", "--resume"));

        Assert.That(first.ExitCode, Is.EqualTo(ExitCodes.Success), first.ToString());
        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Usage), run.ToString());
        Assert.That(run.Error, Does.Contain("Replay 'r1' covers 2026-03-01T10:00:00Z to 2026-03-01T10:01:00Z"));
    }

    [Test]
    public async Task Republish_BrokerUnreachable_ExitsBrokerUnavailableBeforeSendingAnything()
    {
        await Store.AddManyAsync(Origin, 3, TimeSpan.FromSeconds(1));

        var run = await Sor.RunAsync(["republish", "--sqlite", Store.Path, "--bootstrap-servers", $"127.0.0.1:{ClosedPort()}", "--connect-timeout", "1s", "--from", Time.Arg(Origin), "--to", Time.Arg(Origin.AddMinutes(1))]);

        Assert.Multiple(async () =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.BrokerUnavailable), run.ToString());
            Assert.That(run.Error, Does.Contain("did not answer within 1s"));
            Assert.That(run.Error, Does.Not.Contain("   at "));
            Assert.That(await CheckpointsAsync(), Is.Empty, "no replay started");
        });
    }

    [Test]
    public void ProgressLine_Describe_ShowsBucketsEventsRateAndEta()
    {
        var text = ProgressLine.Describe(new ReplayProgress(12, 40, 1_500, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(9.2)));

        Assert.That(text, Is.EqualTo("12/40 buckets, 1,500 events, 500 events/s, ETA 10s"));
    }
}
