using System.Diagnostics;
using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

/// <summary>
/// A measurement, not a test of speed: prints appends per second with synchronous=FULL for 1 and 64 concurrent
/// appenders, to show group commit at work. Explicit, so CI does not run it; run it with
/// <c>dotnet test tests/EventSourcing.SystemOfRecord.Sqlite.Tests --filter "FullyQualifiedName~Throughput" --logger "console;verbosity=detailed"</c>.
/// </summary>
[Explicit("A measurement; prints numbers, asserts only that nothing was lost.")]
public sealed class SqliteEventStoreThroughputTests
{
    [TestCase(1, 3)]
    [TestCase(64, 3)]
    public async Task AppendAsync_ConcurrentAppenders_PrintsEventsPerSecond(int appenders, int seconds)
    {
        await using var database = new TempDatabase();
        var store = database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Full);
        await store.EnsureCreatedAsync(TestEvents.Increment);
        await store.AppendAsync(TestEvents.Create("warm-up"));
        var commitsBefore = store.TransactionsCommitted;

        long appended = 0;
        var stopwatch = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            while (stopwatch.Elapsed < until)
            {
                await store.AppendAsync(TestEvents.Create("{\"measure\":\"throughput\",\"payload\":\"0123456789abcdef0123456789abcdef\"}", key: $"k{a}"));
                Interlocked.Increment(ref appended);
            }
        })));
        stopwatch.Stop();

        var commits = store.TransactionsCommitted - commitsBefore;
        TestContext.Out.WriteLine(
            $"synchronous=FULL, {appenders,2} appenders: {appended / stopwatch.Elapsed.TotalSeconds,8:F0} events/s, "
            + $"{commits / stopwatch.Elapsed.TotalSeconds,6:F0} commits/s, {(double)appended / commits,5:F1} events per commit");
        Assert.That(database.Scalar("SELECT count(*) FROM events"), Is.EqualTo(appended + 1));
    }
}
