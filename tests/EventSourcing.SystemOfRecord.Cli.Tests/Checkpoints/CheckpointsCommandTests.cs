using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Checkpoints;

/// <summary><c>sor checkpoints</c> on a SQLite store (the Cassandra store gains listing and deleting on another branch).</summary>
public sealed class CheckpointsCommandTests
{
    private TestStore _store = null!;

    [SetUp]
    public async Task SetUp()
    {
        _store = await TestStore.CreateAsync();

        // A real managed replay's checkpoint, written by the library, beside two other names.
        await _store.AddManyAsync(TestStore.Origin, 5, TimeSpan.FromSeconds(5));
        await using (var sor = new SystemOfRecord(_store.Store, new InMemoryEventPublisher(), Options.Create(new SystemOfRecordOptions { BucketIncrement = TestStore.Increment })))
        {
            await sor.RunReplayAsync("nightly", TestStore.Origin, TestStore.Origin.AddMinutes(1));
        }

        await _store.Store.WriteCheckpointAsync("cursor/app-1", "42");
        await _store.Store.WriteCheckpointAsync("lease/app-1", "held");
    }

    [TearDown]
    public async Task TearDown() => await _store.DisposeAsync();

    private async Task<string?> ReadAsync(string name) => await _store.Store.ReadCheckpointAsync(name);

    [Test]
    public async Task List_ShowsEveryCheckpointInNameOrderAndExplainsReplays()
    {
        var run = await Sor.RunAsync(["checkpoints", "list", "--sqlite", _store.Path]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        var names = new[] { "cursor/app-1", "lease/app-1", "replay/nightly" };
        Assert.Multiple(() =>
        {
            Assert.That(names.Select(n => run.Output.IndexOf(n, StringComparison.Ordinal)), Is.Ordered.And.All.GreaterThanOrEqualTo(0));
            Assert.That(run.Output, Does.Contain("replay: buckets 2026-03-01T10:00:00Z to 2026-03-01T10:01:00Z, complete"));
        });
    }

    [Test]
    public async Task List_PrefixAndJson_PrintsOnlyMatchingNamesAsJsonLines()
    {
        var run = await Sor.RunAsync(["checkpoints", "list", "--sqlite", _store.Path, "--prefix", "replay/", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1));
        using var json = JsonDocument.Parse(lines[0]);
        Assert.Multiple(async () =>
        {
            Assert.That(json.RootElement.GetProperty("name").GetString(), Is.EqualTo("replay/nightly"));
            Assert.That(json.RootElement.GetProperty("value").GetString(), Is.EqualTo(await ReadAsync("replay/nightly")));
        });
    }

    [Test]
    public async Task Show_PrintsTheValue_OrExitsNotFound()
    {
        var found = await Sor.RunAsync(["checkpoints", "show", "cursor/app-1", "--sqlite", _store.Path]);
        var missing = await Sor.RunAsync(["checkpoints", "show", "cursor/nobody", "--sqlite", _store.Path]);

        Assert.Multiple(() =>
        {
            Assert.That(found.ExitCode, Is.EqualTo(ExitCodes.Success), found.ToString());
            Assert.That(found.Output.Trim(), Is.EqualTo("42"));
            Assert.That(missing.ExitCode, Is.EqualTo(ExitCodes.NotFound), missing.ToString());
            Assert.That(missing.Error, Does.Contain("There is no checkpoint named 'cursor/nobody'."));
        });
    }

    [Test]
    public async Task Delete_RemovesThatCheckpointOnly()
    {
        var run = await Sor.RunAsync(["checkpoints", "delete", "replay/nightly", "--sqlite", _store.Path]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.Multiple(async () =>
        {
            Assert.That(run.Output, Does.Contain("Deleted checkpoint replay/nightly"));
            Assert.That(await ReadAsync("replay/nightly"), Is.Null);
            Assert.That(await ReadAsync("cursor/app-1"), Is.EqualTo("42"));
        });
    }

    [Test]
    public async Task Delete_UnknownName_ExitsNotFoundAndDeletesNothing()
    {
        var run = await Sor.RunAsync(["checkpoints", "delete", "replay/other", "--sqlite", _store.Path]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.NotFound), run.ToString());
        Assert.That(await ReadAsync("replay/nightly"), Is.Not.Null);
    }
}
