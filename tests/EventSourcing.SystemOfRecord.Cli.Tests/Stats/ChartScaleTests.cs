using EventSourcing.SystemOfRecord.Cli.Stats;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Stats;

public sealed class ChartScaleTests
{
    private static readonly DateTime Start = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    [TestCase(15, 10, 15, true)] // 40 buckets: one bar each
    [TestCase(15, 60, 300, false)] // 240 buckets: 5-minute bars
    [TestCase(15, 24 * 60, 1800, false)] // a day: half hours
    [TestCase(15, 2 * 24 * 60, 3600, false)] // two days: hours
    [TestCase(15, 7 * 24 * 60, 6 * 3600, false)] // a week: 6 hours (3 h would be 56 bars)
    [TestCase(60 * 60, 24 * 60, 3600, true)] // hour buckets over a day: one bar each
    public void For_Range_PicksTheFinestWidthWithinMaxBars(int incrementSeconds, int rangeMinutes, int expectedSeconds, bool perBucket)
    {
        var scale = ChartScale.For(Start, Start.AddMinutes(rangeMinutes), TimeSpan.FromSeconds(incrementSeconds));

        Assert.Multiple(() =>
        {
            Assert.That(scale.Width, Is.EqualTo(TimeSpan.FromSeconds(expectedSeconds)));
            Assert.That(scale.PerBucket, Is.EqualTo(perBucket));
            Assert.That(scale.Bars, Is.LessThanOrEqualTo(ChartScale.MaxBars));
        });
    }

    [Test]
    public void For_YearsLongRange_UsesWholeDaysWithinMaxBars()
    {
        var scale = ChartScale.For(Start, Start.AddYears(3), TimeSpan.FromSeconds(15));

        Assert.Multiple(() =>
        {
            Assert.That(scale.Bars, Is.LessThanOrEqualTo(ChartScale.MaxBars));
            Assert.That(scale.Width.Ticks % TimeSpan.TicksPerDay, Is.Zero);
        });
    }

    [TestCase(0, 300L * 24 * 60)] // weekly bars: a week does not divide the ticks from year 1 to 1970
    [TestCase(3, 300L * 24 * 60)]
    [TestCase(0, 9998L * 365 * 24 * 60)] // bars of thousands of days
    public void For_RangeFromYearOne_FirstBarStartsNoEarlierThanMinValue(int startDays, long rangeMinutes)
    {
        var from = DateTime.SpecifyKind(DateTime.MinValue.AddDays(startDays), DateTimeKind.Utc);

        var scale = ChartScale.For(from, from.AddMinutes(rangeMinutes), TimeSpan.FromSeconds(15));

        Assert.Multiple(() =>
        {
            Assert.That(scale.FirstBar, Is.LessThanOrEqualTo(from));
            Assert.That(scale.BarOf(from), Is.Zero);
            Assert.That(scale.BarOf(from.AddMinutes(rangeMinutes - 1)), Is.LessThan(scale.Bars));
            Assert.That(scale.Bars, Is.LessThanOrEqualTo(ChartScale.MaxBars));
        });
    }

    [Test]
    public void BarOf_BucketsOfOneHour_FallInOneBar()
    {
        var scale = ChartScale.For(Start, Start.AddDays(2), TimeSpan.FromSeconds(15));

        Assert.Multiple(() =>
        {
            Assert.That(scale.BarOf(Start.AddMinutes(59).AddSeconds(45)), Is.Zero);
            Assert.That(scale.BarOf(Start.AddHours(1)), Is.EqualTo(1));
            Assert.That(scale.BarStart(23), Is.EqualTo(Start.AddHours(23)));
        });
    }
}
