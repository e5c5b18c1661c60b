using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

public class SqliteProcessedEventLogTests
{
    private static readonly DateTimeOffset Origin = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task MarkProcessedAsync_NewInstanceOnSameFile_StillKnowsTheId()
    {
        await using var database = new TempDatabase();
        var marked = TimeUuid.Create(Origin);
        var other = TimeUuid.Create(Origin);

        await new SqliteProcessedEventLog(database.ConnectionString).MarkProcessedAsync(marked);
        var restarted = new SqliteProcessedEventLog(database.ConnectionString);

        Assert.Multiple(async () =>
        {
            Assert.That(await restarted.IsProcessedAsync(marked), Is.True);
            Assert.That(await restarted.IsProcessedAsync(other), Is.False);
        });
    }

    [Test]
    public async Task MarkProcessedAsync_Twice_Harmless()
    {
        await using var database = new TempDatabase();
        var log = new SqliteProcessedEventLog(database.ConnectionString);
        var id = TimeUuid.Create(Origin);

        await log.MarkProcessedAsync(id);
        await log.MarkProcessedAsync(id);

        Assert.That(await log.PruneAsync(Origin.AddDays(1)), Is.EqualTo(1));
    }

    [Test]
    public async Task PruneAsync_ForgetsOnlyOlderEventTimes()
    {
        await using var database = new TempDatabase();
        var log = new SqliteProcessedEventLog(database.ConnectionString);
        var old = TimeUuid.Create(Origin.AddDays(-10));
        var recent = TimeUuid.Create(Origin.AddDays(-1));
        await log.MarkProcessedAsync(old);
        await log.MarkProcessedAsync(recent);

        var pruned = await log.PruneAsync(Origin.AddDays(-5));

        Assert.Multiple(async () =>
        {
            Assert.That(pruned, Is.EqualTo(1));
            Assert.That(await log.IsProcessedAsync(old), Is.False);
            Assert.That(await log.IsProcessedAsync(recent), Is.True);
        });
    }

    [Test]
    public async Task IdempotentEventHandler_AcrossARestart_AppliesEachEventOnce()
    {
        await using var database = new TempDatabase();
        var applied = new List<TimeUuid>();
        var events = Enumerable.Range(0, 20)
            .Select(i => new RecordedEvent(DateTime.UtcNow, TimeUuid.Create(), "events", null, $"m{i}"))
            .ToList();

        var before = new IdempotentEventHandler((e, _) => { applied.Add(e.EventId); return ValueTask.CompletedTask; }, new SqliteProcessedEventLog(database.ConnectionString));
        foreach (var e in events.Take(12))
        {
            await before.HandleAsync(e, CancellationToken.None);
        }

        // The consumer restarts; the broker redelivers everything.
        var after = new IdempotentEventHandler((e, _) => { applied.Add(e.EventId); return ValueTask.CompletedTask; }, new SqliteProcessedEventLog(database.ConnectionString));
        foreach (var e in events)
        {
            await after.HandleAsync(e, CancellationToken.None);
        }

        Assert.Multiple(() =>
        {
            Assert.That(applied, Is.EqualTo(events.Select(e => e.EventId)));
            Assert.That(after.DuplicateCount, Is.EqualTo(12));
        });
    }

    [Test]
    public void Constructor_EmptyConnectionString_NamesTheSetting()
    {
        Assert.That(() => new SqliteProcessedEventLog(""), Throws.Exception.With.Message.Contain("ConnectionString"));
    }
}
