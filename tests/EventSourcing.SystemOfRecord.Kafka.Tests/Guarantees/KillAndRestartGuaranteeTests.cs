using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Guarantees;

/// <summary>
/// Issue 9's fault test: a real process appends in <see cref="PublishMode.Committed"/> (SQLite, publish recovery, Kafka
/// over the wire), is killed with SIGKILL, a second process takes over the same file and instance name and is killed
/// too, and a third run restarts once and publishes what the kills left. At least once, every stored event reaches the
/// topic and the restart republishes only the short stretch after the last cursor write; exactly once, the committed
/// records are the stored events, each once.
/// </summary>
[TestFixture]
[Category("Slow")] // two SIGKILLed child processes, each waiting out its predecessor's 2 s lease
public sealed class KillAndRestartGuaranteeTests : GuaranteeFixture
{
    // 16 appenders pausing 5 ms after each append: a few thousand events a second, which the pipeline keeps up with, so
    // each kill lands in the steady state. (Unpaced, Committed-mode appends outrun the publisher many times over, and
    // the mock broker keeps only 5 MB per partition.)
    private const int Appenders = 16;
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(5);
    private const int AppendsPerProcess = 4_000;

    // Each kill lands while the child publishes, not before its first records reached the brokers.
    private const int PublishedPerProcess = 2_000;

    [Test]
    public async Task AtLeastOnce_KilledTwiceThenRestarted_EveryStoredEventOnTheTopicWithFewDuplicates()
    {
        var topic = KafkaTestSettings.NewTopic("killed-twice");
        Cluster.CreateTopic(topic, Partitions);
        var settings = new RecordingAppSettings(Folder.File("events.db"), Cluster.BootstrapServers, topic) { Mode = PublishMode.Committed };

        var stored = await KillTwiceThenRestartAsync(settings);
        var records = TopicReader.ReadAll(Cluster.BootstrapServers, topic, Partitions);
        var ids = records.Select(r => TimeUuid.Parse(r.Header("ce_id")!)).ToList();
        var distinct = ids.ToHashSet();
        var duplicates = ids.Count - distinct.Count;
        var ratio = (double)duplicates / stored.Count;
        TestContext.Progress.WriteLine(
            $"at least once, Committed: {stored.Count} stored rows, {ids.Count} records on the topic, {distinct.Count} distinct ids, {duplicates} duplicates ({ratio:P1} of the stored rows)");

        Assert.Multiple(() =>
        {
            Assert.That(distinct.Order(), Is.EqualTo(stored.Select(e => e.EventId).Order()), "every stored event on the topic, and nothing else");

            // A restart republishes what follows the cursor last written to the store (every 200 ms) plus what the
            // producer held (linger 200 ms): a few hundred events per kill. Half the stored rows would mean the
            // restart re-sent whole runs, the failure this guards against; the target is 10 %.
            Assert.That(ratio, Is.LessThan(0.5), "the restarts republished only the stretch after the last cursor");
        });
    }

    [Test]
    public async Task ExactlyOnce_KilledTwiceThenRestarted_ReadCommittedHoldsEveryStoredEventExactlyOnce()
    {
        var topic = KafkaTestSettings.NewTopic("killed-twice-eos");
        var cursors = KafkaTestSettings.NewTopic("cursors");
        Cluster.CreateTopic(topic, Partitions);
        Cluster.CreateTopic(cursors, partitions: 1);
        var settings = new RecordingAppSettings(Folder.File("events.db"), Cluster.BootstrapServers, topic)
        {
            Mode = PublishMode.Committed,
            CursorTopic = cursors,
            ReadCursorFromLog = true,
        };

        var stored = await KillTwiceThenRestartAsync(settings);
        var log = CommittedLogReader.Read(Cluster.BootstrapServers, topic);
        var ids = log.Committed.Select(r => TimeUuid.Parse(r.Header("ce_id")!)).ToList();
        var distinct = ids.ToHashSet();
        TestContext.Progress.WriteLine(
            $"exactly once, Committed: {stored.Count} stored rows, {ids.Count} committed records (read_committed), {distinct.Count} distinct ids; "
            + $"left out: {log.Open} records of transactions the kills left open, {log.Aborted} of aborted ones ({log.Total} records in the log)");

        Assert.Multiple(() =>
        {
            Assert.That(ids, Has.Count.EqualTo(stored.Count), "records == stored rows");
            Assert.That(distinct, Has.Count.EqualTo(stored.Count), "distinct ids == stored rows");
            Assert.That(distinct.Order(), Is.EqualTo(stored.Select(e => e.EventId).Order()), "the very stored events");
        });
        ExactlyOnceGuaranteeTests.AssertKeyOrder(log.Committed);
    }

    /// <summary>Two child processes appending on one file, each killed mid-stream, then an in-process restart that publishes the rest. Returns the stored events.</summary>
    private async Task<List<RecordedEvent>> KillTwiceThenRestartAsync(RecordingAppSettings settings)
    {
        for (var run = 1; run <= 2; run++)
        {
            var onTopic = StoreContents.RecordsOnTopic(Cluster, settings.Topic, Partitions);
            using var child = ChildProcess.Start(settings.DatabaseFile, settings.BootstrapServers, settings.Topic, Appenders, settings.ModeArgument, Pause);
            await Eventually.UntilAsync(
                () => child.HasExited || (child.Appended >= AppendsPerProcess && StoreContents.RecordsOnTopic(Cluster, settings.Topic, Partitions) >= onTopic + PublishedPerProcess),
                $"child {run} appended {AppendsPerProcess} events and published {PublishedPerProcess}",
                TimeSpan.FromSeconds(90));
            Assert.That(child.HasExited, Is.False, () => $"child {run} ended on its own: " + child.Errors);
            child.Kill();
            Assert.That(child.ExitCode, Is.EqualTo(128 + 9), $"child {run} died of SIGKILL");
            var storedNow = await StoreContents.ReadAllAsync(settings.DatabaseFile);
            TestContext.Progress.WriteLine(
                $"child {run} killed after {child.Appended}+ appends: {storedNow.Count} stored rows, {StoreContents.RecordsOnTopic(Cluster, settings.Topic, Partitions)} offsets used on the topic (records, and transaction markers when exactly once)");
        }

        // The same configuration restarts once, on the same file and instance name, and publishes what the kills left.
        await using var restarted = await RecordingApp.StartAsync(settings);
        var stored = await StoreContents.ReadAllAsync(restarted.Store);
        var last = stored.Max(e => e.EventId);
        await Eventually.UntilAsync(() => restarted.System.GetPublishStatus() is { Backlog: 0 } s && s.Cursor >= last, "the restart published every stored event", TimeSpan.FromSeconds(60));
        Assert.That(stored, Has.Count.GreaterThanOrEqualTo(2 * AppendsPerProcess));
        return stored;
    }
}
