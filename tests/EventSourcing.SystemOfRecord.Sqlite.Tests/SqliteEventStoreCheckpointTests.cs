using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

/// <summary>Checkpoints shared by processes: the compare-and-set holds across them.</summary>
public sealed class SqliteEventStoreCheckpointTests
{
    private TempDatabase _database = null!;

    [SetUp]
    public void SetUp() => _database = new TempDatabase();

    [TearDown]
    public async Task TearDown() => await _database.DisposeAsync();

    [Test]
    public async Task TryReplaceCheckpointAsync_TwoProcessesIncrementingOneCounter_NeverBothWinFromOneValue()
    {
        const int increments = 300;
        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Normal);
        await store.EnsureCreatedAsync(TestEvents.Increment);
        await store.WriteCheckpointAsync("counter", "0");
        using var child = ChildProcess.StartIncrementing(_database.FilePath, "counter", increments);
        var errors = child.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        Assert.That(await child.StandardOutput.ReadLineAsync(deadline.Token), Is.EqualTo("ready"), await ErrorsIfExitedAsync(child, errors));
        await child.StandardInput.WriteLineAsync("go");
        await child.StandardInput.FlushAsync(deadline.Token);
        var (won, lost) = await CasCounter.IncrementAsync(store, "counter", increments);
        var childReport = await child.StandardOutput.ReadToEndAsync(deadline.Token);
        await child.WaitForExitAsync(deadline.Token);

        TestContext.Out.WriteLine($"this process: won {won} lost {lost}; the other: {childReport.Trim()}");
        Assert.That(child.ExitCode, Is.Zero, await errors);
        Assert.That(childReport, Does.Contain($"won {increments} "));
        Assert.That(await store.ReadCheckpointAsync("counter"), Is.EqualTo($"{2 * increments}"), "an increment was lost: both processes won from one value");
    }

    private static async Task<string> ErrorsIfExitedAsync(System.Diagnostics.Process child, Task<string> errors) =>
        child.HasExited ? await errors : "the other process did not start";
}
