using EventSourcing.SystemOfRecord.Tests.Support;
using Moq;

namespace EventSourcing.SystemOfRecord.Tests.Reload;

public class SystemOfRecordReloadTests
{
    private static readonly DateTime Start = ReplayTestKit.Start;

    [Test]
    public async Task ReloadAsync_StoredRange_ResetsThenAppliesEveryEventOfTheRangeInOrder()
    {
        using var kit = new ReplayTestKit();
        var seeded = await kit.SeedAsync([-10, 0, 5, 20, 35, 50, 60, 75], "a", "b");
        var projection = new RecordingProjection();

        var result = await kit.Sor.ReloadAsync(projection, Start, Start.AddSeconds(60));

        Assert.Multiple(() =>
        {
            Assert.That(projection.Calls, Is.EqualTo(new[] { "reset", "m1", "m2", "m3", "m4", "m5" }));
            Assert.That(projection.Applied, Is.EqualTo(seeded.GetRange(1, 5)));
            Assert.That(result.RangeEvents, Is.EqualTo(5));
            Assert.That(result.CatchUpEvents, Is.Zero);
            Assert.That(result.TotalEvents, Is.EqualTo(5));
            Assert.That(result.CatchUpPasses, Is.Zero);
            Assert.That(result.CaughtUp, Is.False);
            Assert.That(kit.PublishedSnapshot(), Is.Empty, "a reload reads the store, not the broker");
        });
    }

    [Test]
    public async Task ReloadAsync_CatchUp_AppliesEventsAppendedDuringTheReloadOnce()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0, 5, 20, 35, 50]);
        var projection = new RecordingProjection();
        projection.OnApply = async e =>
        {
            if (e.Message == "m4")
            {
                projection.OnApply = null;
                kit.Clock.SetUtcNow(new DateTimeOffset(Start.AddSeconds(55)));
                await kit.Sor.AppendAsync("late-in-last-bucket");
                kit.Clock.SetUtcNow(new DateTimeOffset(Start.AddSeconds(70)));
                await kit.Sor.AppendAsync("new-1");
                await kit.Sor.AppendAsync("new-2");
            }
        };

        var result = await kit.Sor.ReloadAsync(projection, Start, Start.AddSeconds(60), new ReloadOptions { CatchUp = true });

        Assert.Multiple(() =>
        {
            Assert.That(projection.Calls, Is.EqualTo(new[] { "reset", "m0", "m1", "m2", "m3", "m4", "late-in-last-bucket", "new-1", "new-2" }));
            Assert.That(result.RangeEvents, Is.EqualTo(5));
            Assert.That(result.CatchUpEvents, Is.EqualTo(3));
            Assert.That(result.CatchUpPasses, Is.EqualTo(2), "the second pass finds nothing new");
            Assert.That(result.CaughtUp, Is.True);
        });
    }

    [Test]
    public async Task ReloadAsync_WithoutCatchUp_IgnoresEventsAppendedDuringTheReload()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0, 50]);
        var projection = new RecordingProjection();
        projection.OnApply = async e =>
        {
            if (e.Message == "m1")
            {
                projection.OnApply = null;
                kit.Clock.SetUtcNow(new DateTimeOffset(Start.AddSeconds(70)));
                await kit.Sor.AppendAsync("new");
            }
        };

        var result = await kit.Sor.ReloadAsync(projection, Start, Start.AddSeconds(60));

        Assert.That(projection.Calls, Is.EqualTo(new[] { "reset", "m0", "m1" }));
        Assert.That(result.TotalEvents, Is.EqualTo(2));
        Assert.That(kit.Store.Count, Is.EqualTo(3));
    }

    [Test]
    public async Task ReloadAsync_CatchUpPassesRunOut_ReturnsNotCaughtUp()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0]);
        var projection = new RecordingProjection();
        var appended = 0;
        projection.OnApply = async _ =>
        {
            // Every apply records another event: the reload can never catch up.
            if (appended++ < 10)
            {
                kit.Clock.Advance(TimeSpan.FromSeconds(1));
                await kit.Sor.AppendAsync($"more-{appended}");
            }
        };

        var result = await kit.Sor.ReloadAsync(projection, Start, Start.AddSeconds(15), new ReloadOptions { CatchUp = true, MaxCatchUpPasses = 3 });

        Assert.Multiple(() =>
        {
            Assert.That(result.CatchUpPasses, Is.EqualTo(3));
            Assert.That(result.CaughtUp, Is.False);
            Assert.That(result.RangeEvents, Is.EqualTo(1));
            Assert.That(result.CatchUpEvents, Is.EqualTo(3));
            Assert.That(projection.Calls, Is.EqualTo(new[] { "reset", "m0", "more-1", "more-2", "more-3" }));
        });
    }

    [Test]
    public async Task ReloadAsync_Progress_ReportsCompletedBucketsAndEndsAtTheTotal()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0, 1, 20, 50]);
        var progress = new ListProgress<ReplayProgress>();

        await kit.Sor.ReloadAsync(new RecordingProjection(), Start, Start.AddSeconds(60), progress: progress);

        var reports = progress.Reports;
        Assert.Multiple(() =>
        {
            Assert.That(reports.Select(r => r.BucketsCompleted), Is.EqualTo(new long[] { 1, 3, 4 }));
            Assert.That(reports.Select(r => r.Events), Is.EqualTo(new long[] { 2, 3, 4 }));
            Assert.That(reports.Select(r => r.BucketsTotal), Is.All.EqualTo(4));
            Assert.That(reports[^1].EstimatedRemaining, Is.EqualTo(TimeSpan.Zero));
        });
    }

    [Test]
    public async Task ReloadAsync_ProjectionFails_ErrorSurfacesAndNothingMoreIsApplied()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0, 1, 2]);
        var projection = new Mock<IReloadableProjection>();
        var applied = 0;
        projection.Setup(p => p.ApplyAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>()))
            .Returns(() => ++applied == 2 ? ValueTask.FromException(new InvalidOperationException("view down")) : ValueTask.CompletedTask);

        Assert.That(async () => await kit.Sor.ReloadAsync(projection.Object, Start, Start.AddSeconds(15)),
            Throws.InvalidOperationException.With.Message.EqualTo("view down"));
        Assert.That(applied, Is.EqualTo(2));
        projection.Verify(p => p.ResetAsync(It.IsAny<CancellationToken>()), Times.Once());
    }

    [Test]
    public async Task ReloadAsync_Cancelled_StopsWithOperationCanceled()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0, 1, 2, 3]);
        using var cts = new CancellationTokenSource();
        var projection = new RecordingProjection { OnApply = _ => { cts.Cancel(); return Task.CompletedTask; } };

        Assert.That(async () => await kit.Sor.ReloadAsync(projection, Start, Start.AddSeconds(15), cancellationToken: cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(projection.Applied, Has.Count.EqualTo(1));
    }

    [Test]
    public void ReloadAsync_BadArguments_ThrowBeforeTheReset()
    {
        using var kit = new ReplayTestKit();
        var projection = new Mock<IReloadableProjection>(MockBehavior.Strict);

        Assert.Multiple(() =>
        {
            Assert.That(async () => await kit.Sor.ReloadAsync(null!, Start, Start), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("projection"));
            Assert.That(async () => await kit.Sor.ReloadAsync(projection.Object, Start.AddSeconds(1), Start), Throws.ArgumentException.With.Message.Contain("after it ends"));
            Assert.That(async () => await kit.Sor.ReloadAsync(projection.Object, DateTime.SpecifyKind(Start, DateTimeKind.Unspecified), Start),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("start"));
            Assert.That(async () => await kit.Sor.ReloadAsync(projection.Object, Start, Start, new ReloadOptions { MaxCatchUpPasses = 0 }),
                Throws.TypeOf<Microsoft.Extensions.Options.OptionsValidationException>().With.Message.Contain("MaxCatchUpPasses"));
        });
        projection.VerifyNoOtherCalls();
    }

    [Test]
    public async Task ReloadAsync_DateTimeOffsets_UseTheirUtcInstant()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0, 16]);
        var projection = new RecordingProjection();

        await kit.Sor.ReloadAsync(projection, new DateTimeOffset(Start).ToOffset(TimeSpan.FromHours(2)), new DateTimeOffset(Start.AddSeconds(15)).ToOffset(TimeSpan.FromHours(-3)));

        Assert.That(projection.Calls, Is.EqualTo(new[] { "reset", "m0" }));
    }
}
