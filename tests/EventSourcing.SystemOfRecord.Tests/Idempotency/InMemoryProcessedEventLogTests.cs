namespace EventSourcing.SystemOfRecord.Tests.Idempotency;

public class InMemoryProcessedEventLogTests
{
    private static readonly DateTimeOffset Origin = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task MarkProcessedAsync_ThenIsProcessed_TrueOnlyForMarked()
    {
        var log = new InMemoryProcessedEventLog();
        var marked = TimeUuid.Create(Origin);
        var other = TimeUuid.Create(Origin);

        await log.MarkProcessedAsync(marked);
        await log.MarkProcessedAsync(marked);

        Assert.Multiple(async () =>
        {
            Assert.That(await log.IsProcessedAsync(marked), Is.True);
            Assert.That(await log.IsProcessedAsync(other), Is.False);
            Assert.That(log.Count, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task MarkProcessedAsync_PastCapacity_EvictsOldestHoursFirst()
    {
        var log = new InMemoryProcessedEventLog(capacity: 100);
        var oldest = Enumerable.Range(0, 60).Select(_ => TimeUuid.Create(Origin)).ToList();
        var newer = Enumerable.Range(0, 60).Select(_ => TimeUuid.Create(Origin.AddHours(1))).ToList();

        foreach (var id in oldest.Concat(newer))
        {
            await log.MarkProcessedAsync(id);
        }

        Assert.Multiple(async () =>
        {
            Assert.That(log.Count, Is.EqualTo(60));
            Assert.That(await log.IsProcessedAsync(oldest[0]), Is.False);
            Assert.That(await log.IsProcessedAsync(newer[^1]), Is.True);
        });
    }

    [Test]
    public void Constructor_NonPositiveCapacity_Throws()
    {
        Assert.That(() => new InMemoryProcessedEventLog(0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
