using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Tests.Idempotency;

public class IdempotentEventHandlerTests
{
    private static readonly DateTimeOffset Now = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private FakeTimeProvider _clock = default!;

    [SetUp]
    public void SetUp() => _clock = new FakeTimeProvider(Now);

    private static RecordedEvent Event(DateTimeOffset at) =>
        new(at.UtcDateTime.AddTicks(-(at.UtcTicks % TimeSpan.TicksPerSecond)), TimeUuid.Create(at), "events", null, "m");

    [Test]
    public async Task HandleAsync_SameEventTwice_InnerRunsOnce()
    {
        var applied = new List<TimeUuid>();
        var handler = new IdempotentEventHandler((e, _) => { applied.Add(e.EventId); return ValueTask.CompletedTask; }, new InMemoryProcessedEventLog(), timeProvider: _clock);
        var e = Event(Now.AddMinutes(-1));

        await handler.HandleAsync(e, CancellationToken.None);
        await handler.HandleAsync(e, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(applied, Is.EqualTo(new[] { e.EventId }));
            Assert.That(handler.HandledCount, Is.EqualTo(1));
            Assert.That(handler.DuplicateCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task HandleAsync_ReplayOfLastMonthInsideWindow_RecognisedByEventTimeNotArrival()
    {
        var log = new InMemoryProcessedEventLog();
        var applied = 0;
        var options = new IdempotencyOptions { RetentionWindow = TimeSpan.FromDays(60) };
        var handler = new IdempotentEventHandler((_, _) => { applied++; return ValueTask.CompletedTask; }, log, options, _clock);
        var lastMonth = Event(Now.AddDays(-30));

        await handler.HandleAsync(lastMonth, CancellationToken.None);
        _clock.Advance(TimeSpan.FromDays(20)); // the broker redelivers it weeks later
        await handler.HandleAsync(lastMonth, CancellationToken.None);

        Assert.That(applied, Is.EqualTo(1));
    }

    [Test]
    public async Task HandleAsync_InnerFails_LeftUnmarkedSoRedeliveryProcesses()
    {
        var attempts = 0;
        var handler = new IdempotentEventHandler((_, _) =>
        {
            attempts++;
            return attempts == 1 ? throw new InvalidOperationException("downstream down") : ValueTask.CompletedTask;
        }, new InMemoryProcessedEventLog(), timeProvider: _clock);
        var e = Event(Now);

        Assert.That(async () => await handler.HandleAsync(e, CancellationToken.None), Throws.InvalidOperationException);
        await handler.HandleAsync(e, CancellationToken.None);
        await handler.HandleAsync(e, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(attempts, Is.EqualTo(2));
            Assert.That(handler.HandledCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task HandleAsync_ConcurrentDeliveriesOfOneId_InnerRunsOnce()
    {
        var running = 0;
        var maxRunning = 0;
        var applied = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new IdempotentEventHandler(async (_, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref maxRunning, now);
            await gate.Task;
            Interlocked.Increment(ref applied);
            Interlocked.Decrement(ref running);
        }, new InMemoryProcessedEventLog(), timeProvider: _clock);
        var e = Event(Now);

        var deliveries = Enumerable.Range(0, 8).Select(_ => Task.Run(() => handler.HandleAsync(e, CancellationToken.None).AsTask())).ToArray();
        await Eventually.UntilAsync(() => Volatile.Read(ref running) == 1, "the first delivery is running");
        gate.SetResult();
        await Task.WhenAll(deliveries);

        Assert.Multiple(() =>
        {
            Assert.That(applied, Is.EqualTo(1));
            Assert.That(maxRunning, Is.EqualTo(1));
            Assert.That(handler.DuplicateCount, Is.EqualTo(7));
        });
    }

    [TestCase(OlderThanWindowMode.Skip, 0)]
    [TestCase(OlderThanWindowMode.Process, 2)]
    public async Task HandleAsync_OlderThanWindow_FollowsMode(OlderThanWindowMode mode, int expectedApplied)
    {
        var applied = 0;
        var options = new IdempotencyOptions { RetentionWindow = TimeSpan.FromDays(1), OlderThanWindow = mode };
        var handler = new IdempotentEventHandler((_, _) => { applied++; return ValueTask.CompletedTask; }, new InMemoryProcessedEventLog(), options, _clock);
        var old = Event(Now.AddDays(-2));

        await handler.HandleAsync(old, CancellationToken.None);
        await handler.HandleAsync(old, CancellationToken.None);

        Assert.That(applied, Is.EqualTo(expectedApplied));
        Assert.That(handler.SkippedAsOldCount, Is.EqualTo(mode == OlderThanWindowMode.Skip ? 2 : 0));
    }

    [Test]
    public async Task PruneAsync_ForgetsOnlyIdsOlderThanWindow()
    {
        var log = new InMemoryProcessedEventLog();
        var options = new IdempotencyOptions { RetentionWindow = TimeSpan.FromHours(5) };
        var handler = new IdempotentEventHandler((_, _) => ValueTask.CompletedTask, log, options, _clock);
        foreach (var hoursAgo in new[] { 1, 2, 4, 4.5 })
        {
            await handler.HandleAsync(Event(Now.AddHours(-hoursAgo)), CancellationToken.None);
        }

        _clock.Advance(TimeSpan.FromHours(2)); // now 3, 4, 6 and 6.5 hours old

        var pruned = await handler.PruneAsync();

        Assert.Multiple(() =>
        {
            Assert.That(pruned, Is.EqualTo(2));
            Assert.That(log.Count, Is.EqualTo(2));
        });
    }

    [Test]
    public void Constructor_BadArguments_Throw()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new IdempotentEventHandler((IEventHandler)null!, new InMemoryProcessedEventLog()), Throws.ArgumentNullException);
            Assert.That(() => new IdempotentEventHandler((_, _) => ValueTask.CompletedTask, null!), Throws.ArgumentNullException);
            Assert.That(() => new IdempotentEventHandler((_, _) => ValueTask.CompletedTask, new InMemoryProcessedEventLog(), new IdempotencyOptions { RetentionWindow = TimeSpan.Zero }),
                Throws.ArgumentException.With.Message.Contain("RetentionWindow"));
        });
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
