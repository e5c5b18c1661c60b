using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Tests.Recovery;

public class PublishTrackerTests
{
    private static readonly DateTimeOffset Start = new(2024, 6, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly long Increment = TimeSpan.FromSeconds(15).Ticks;

    [Test]
    public void Watermark_NothingInFlight_IsTheCurrentBucket()
    {
        var clock = new FakeTimeProvider(Start.AddSeconds(20));
        var tracker = new PublishTracker();

        Assert.That(tracker.Watermark(clock.GetUtcNow(), Increment), Is.EqualTo(Start.UtcDateTime.AddSeconds(15)));
    }

    [Test]
    public void Watermark_UnacknowledgedEvent_HoldsAtItsBucketUntilReleased()
    {
        var clock = new FakeTimeProvider(Start);
        var ids = TimeUuidGenerator.For(clock);
        var tracker = new PublishTracker();

        var (_, bucket) = tracker.Issue(ids, Increment);
        clock.Advance(TimeSpan.FromMinutes(5));
        var held = tracker.Watermark(clock.GetUtcNow(), Increment);
        tracker.Release(bucket);
        var released = tracker.Watermark(clock.GetUtcNow(), Increment);

        Assert.Multiple(() =>
        {
            Assert.That(held, Is.EqualTo(Start.UtcDateTime));
            Assert.That(released, Is.EqualTo(Start.UtcDateTime.AddMinutes(5)));
        });
    }

    [Test]
    public void Watermark_DeferredBucket_HoldsUntilRepublished()
    {
        var clock = new FakeTimeProvider(Start);
        var tracker = new PublishTracker();
        var (_, bucket) = tracker.Issue(TimeUuidGenerator.For(clock), Increment);

        tracker.Defer(bucket);
        clock.Advance(TimeSpan.FromMinutes(1));
        var whileDeferred = tracker.Watermark(clock.GetUtcNow(), Increment);
        var taken = tracker.TryTakeDeferred(out var retried);
        var whileRetrying = tracker.Watermark(clock.GetUtcNow(), Increment);
        tracker.Release(retried);

        Assert.Multiple(() =>
        {
            Assert.That(whileDeferred, Is.EqualTo(Start.UtcDateTime));
            Assert.That(taken, Is.True);
            Assert.That(retried, Is.EqualTo(bucket));
            Assert.That(whileRetrying, Is.EqualTo(Start.UtcDateTime));
            Assert.That(tracker.Watermark(clock.GetUtcNow(), Increment), Is.EqualTo(Start.UtcDateTime.AddMinutes(1)));
            Assert.That(tracker.DeferredCount, Is.Zero);
        });
    }

    [Test]
    public void Watermark_ClockBehindLastIssuedId_NeverPassesIt()
    {
        var clock = new FakeTimeProvider(Start.AddMinutes(10));
        var tracker = new PublishTracker();
        var (_, bucket) = tracker.Issue(TimeUuidGenerator.For(clock), Increment);
        tracker.Release(bucket);

        // The clock steps back ten minutes; the next ids still follow the last one.
        var watermark = tracker.Watermark(Start, Increment);

        Assert.That(watermark, Is.EqualTo(bucket));
    }

    [Test]
    public void Watermark_DuringStartupRecovery_HoldsAtRecoveryStart()
    {
        var clock = new FakeTimeProvider(Start.AddHours(1));
        var tracker = new PublishTracker();

        tracker.BeginRecovery(Start.UtcDateTime);
        var during = tracker.Watermark(clock.GetUtcNow(), Increment);
        tracker.RecoveryCompleted();

        Assert.Multiple(() =>
        {
            Assert.That(during, Is.EqualTo(Start.UtcDateTime));
            Assert.That(tracker.Watermark(clock.GetUtcNow(), Increment), Is.EqualTo(Start.UtcDateTime.AddHours(1)));
        });
    }
}
