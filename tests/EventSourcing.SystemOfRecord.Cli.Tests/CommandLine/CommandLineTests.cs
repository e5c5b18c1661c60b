using EventSourcing.SystemOfRecord.Cli.Tests.Support;

namespace EventSourcing.SystemOfRecord.Cli.Tests.CommandLine;

/// <summary>Bad arguments exit with code 2 and a one-line reason; help and version work without a store.</summary>
public sealed class CommandLineTests
{
    [Test]
    public async Task Help_ListsEveryCommand_AndSucceeds()
    {
        var run = await Sor.RunAsync("--help");

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.That(run.Output, Does.Contain("stats").And.Contain("read").And.Contain("republish").And.Contain("reconcile").And.Contain("checkpoints").And.Contain("relay"));
    }

    [Test]
    public async Task Version_PrintsTheInformationalVersion()
    {
        var run = await Sor.RunAsync("--version");

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.That(run.Output.Trim(), Does.Match(@"^\d+\.\d+\.\d+"));
    }

    [TestCase(new[] { "stats", "--from", "now-1h", "--to", "now" }, "Give the store")]
    [TestCase(new[] { "stats", "--sqlite", "a.db", "--cassandra", "h", "--keyspace", "k", "--from", "now-1h", "--to", "now" }, "Give the store")]
    [TestCase(new[] { "stats", "--cassandra", "h", "--from", "now-1h", "--to", "now" }, "--cassandra needs --keyspace")]
    [TestCase(new[] { "stats", "--sqlite", "a.db", "--keyspace", "k", "--from", "now-1h", "--to", "now" }, "--keyspace applies to --cassandra only")]
    [TestCase(new[] { "stats", "--sqlite", "a.db", "--from", "yesterday", "--to", "now" }, "--from takes a time")]
    [TestCase(new[] { "stats", "--sqlite", "a.db", "--from", "now", "--to", "now-1h" }, "The range starts")]
    [TestCase(new[] { "stats", "--sqlite", "a.db", "--to", "now" }, "--from")]
    [TestCase(new[] { "stats", "--sqlite", "a.db", "--from", "now-1h", "--to", "now", "--connect-timeout", "soon" }, "--connect-timeout takes a positive duration")]
    [TestCase(new[] { "republish", "--sqlite", "a.db", "--from", "now-1h", "--to", "now" }, "--bootstrap-servers")]
    [TestCase(new[] { "republish", "--sqlite", "a.db", "--bootstrap-servers", "k:9092", "--resume" }, "--resume needs the --name")]
    [TestCase(new[] { "republish", "--sqlite", "a.db", "--bootstrap-servers", "k:9092", "--from", "now-1h", "--to", "now", "--rate", "0" }, "--rate must be a positive")]
    [TestCase(new[] { "republish", "--sqlite", "a.db", "--bootstrap-servers", "k:9092", "--from", "now-1h", "--to", "now", "--kafka-config", "secret-without-equals" }, "--kafka-config takes KEY=VALUE")]
    [TestCase(new[] { "reconcile", "--sqlite", "a.db", "--bootstrap-servers", "k:9092", "--from", "now-1h", "--to", "now" }, "--topic")]
    [TestCase(new[] { "checkpoints", "delete", "--sqlite", "a.db" }, "NAME")]
    [TestCase(new[] { "relay", "parked", "--sqlite", "a.db" }, "--instance")]
    [TestCase(new[] { "relay", "takeover", "--sqlite", "a.db", "--instance", "orders-1" }, "--bootstrap-servers")]
    [TestCase(new[] { "relay", "takeover", "--sqlite", "a.db", "--bootstrap-servers", "k:9092", "--instance", "orders-1", "--lease", "10ms" }, "--lease must be at least 100ms")]
    [TestCase(new[] { "relay", "takeover", "--sqlite", "a.db", "--bootstrap-servers", "k:9092", "--instance", " " }, "--instance needs an instance name")]
    [TestCase(new[] { "replay-everything" }, "replay-everything")]
    public async Task BadArguments_ExitUsageNamingTheProblem(string[] args, string problem)
    {
        var run = await Sor.RunAsync(args);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Usage), run.ToString());
            Assert.That(run.Error, Does.Contain(problem));
            Assert.That(run.Error, Does.Contain("--help"), "points to the help");
            Assert.That(run.Error, Does.Not.Contain("   at "));
        });
    }

    [Test]
    public async Task KafkaConfigWithoutEquals_NeverEchoesTheSetting()
    {
        var run = await Sor.RunAsync(["republish", "--sqlite", "a.db", "--bootstrap-servers", "k:9092", "--from", "now-1h", "--to", "now", "--kafka-config", "hunter2"]);

        Assert.That(run.Error, Does.Not.Contain("hunter2"));
    }

    [Test]
    public async Task GlobalOptions_AnywhereOnTheLine_AreAccepted()
    {
        var run = await Sor.RunAsync(["--sqlite", "missing.db", "--connect-timeout", "3s", "stats", "--from", "now-1h", "--to", "now"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.StoreUnavailable), "parsed; fails only at opening the missing file: " + run);
    }

    [Test]
    public async Task KafkaConfig_Repeated_TakesEverySetting()
    {
        var parse = SorCli.Parse(["republish", "--sqlite", "a.db", "--bootstrap-servers", "k:9092", "--kafka-config", "a=1", "--kafka-config", "b=x=y", "--from", "now-1h", "--to", "now"]);

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.GetValue<string[]>("--kafka-config"), Is.EqualTo(new[] { "a=1", "b=x=y" }));
        await Task.CompletedTask;
    }
}
