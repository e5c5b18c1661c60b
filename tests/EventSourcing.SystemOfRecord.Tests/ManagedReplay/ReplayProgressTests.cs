using EventSourcing.SystemOfRecord.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Tests.ManagedReplay;

public class ReplayProgressTests
{
    [Test]
    public void Report_TwoOfTenBucketsInFourSeconds_RateAndEtaFollowThePace()
    {
        var clock = new FakeTimeProvider();
        var progress = new ListProgress<ReplayProgress>();
        var meter = new ProgressMeter(progress, clock, bucketsTotal: 10);

        clock.Advance(TimeSpan.FromSeconds(4));
        meter.Report(2, 100);

        var report = progress.Reports.Single();
        Assert.Multiple(() =>
        {
            Assert.That(report.BucketsCompleted, Is.EqualTo(2));
            Assert.That(report.BucketsTotal, Is.EqualTo(10));
            Assert.That(report.Events, Is.EqualTo(100));
            Assert.That(report.Elapsed, Is.EqualTo(TimeSpan.FromSeconds(4)));
            Assert.That(report.EventsPerSecond, Is.EqualTo(25));
            Assert.That(report.EstimatedRemaining, Is.EqualTo(TimeSpan.FromSeconds(16)));
        });
    }

    [Test]
    public void Report_ResumedRun_EtaCountsOnlyThisRunsBuckets()
    {
        var clock = new FakeTimeProvider();
        var progress = new ListProgress<ReplayProgress>();
        var meter = new ProgressMeter(progress, clock, bucketsTotal: 10, bucketsAtStart: 5);

        meter.Report(5, 0);
        clock.Advance(TimeSpan.FromSeconds(4));
        meter.Report(7, 40);
        meter.Report(7, 41);
        meter.Report(10, 60);

        var reports = progress.Reports;
        Assert.Multiple(() =>
        {
            Assert.That(reports.Select(r => r.BucketsCompleted), Is.EqualTo(new long[] { 5, 7, 10 }), "unchanged bucket counts are not reported again");
            Assert.That(reports[0].EstimatedRemaining, Is.Null);
            Assert.That(reports[0].EventsPerSecond, Is.Zero);
            Assert.That(reports[1].EstimatedRemaining, Is.EqualTo(TimeSpan.FromSeconds(6)));
            Assert.That(reports[2].EstimatedRemaining, Is.EqualTo(TimeSpan.Zero));
            Assert.That(reports[2].ToString(), Does.Contain("10/10 buckets").And.Contain("60 events"));
        });
    }
}
