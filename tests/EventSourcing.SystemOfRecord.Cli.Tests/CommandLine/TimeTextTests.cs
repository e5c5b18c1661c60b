using EventSourcing.SystemOfRecord.Cli.CommandLine;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Cli.Tests.CommandLine;

public sealed class TimeTextTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    [TestCase("2026-03-01T10:15:00Z", "2026-03-01T10:15:00Z")]
    [TestCase("2026-03-01T10:15:00", "2026-03-01T10:15:00Z")]
    [TestCase("2026-03-01T11:15:00+01:00", "2026-03-01T10:15:00Z")]
    [TestCase("2026-03-01", "2026-03-01T00:00:00Z")]
    [TestCase("now", "2026-03-01T12:00:00Z")]
    [TestCase("now-15m", "2026-03-01T11:45:00Z")]
    [TestCase("now+2h", "2026-03-01T14:00:00Z")]
    [TestCase("NOW-1d", "2026-02-28T12:00:00Z")]
    public void TryParseTime_AcceptedForms_GiveUtc(string text, string expected)
    {
        Assert.That(TimeText.TryParseTime(text, Clock, out var utc), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(TimeText.Format(utc), Is.EqualTo(expected));
            Assert.That(utc.Kind, Is.EqualTo(DateTimeKind.Utc));
        });
    }

    [TestCase("")]
    [TestCase("yesterday")]
    [TestCase("now-")]
    [TestCase("now-15")]
    [TestCase("now*2h")]
    [TestCase("nowhere")]
    public void TryParseTime_OtherText_IsRefused(string text) =>
        Assert.That(TimeText.TryParseTime(text, Clock, out _), Is.False);

    [TestCase("500ms", 0.5)]
    [TestCase("30s", 30)]
    [TestCase("15m", 900)]
    [TestCase("1.5h", 5400)]
    [TestCase("7d", 604800)]
    [TestCase("00:05:00", 300)]
    public void TryParseDuration_AcceptedForms(string text, double seconds)
    {
        Assert.That(TimeText.TryParseDuration(text, out var duration), Is.True);
        Assert.That(duration.TotalSeconds, Is.EqualTo(seconds));
    }

    [TestCase("15")]
    [TestCase("-5m")]
    [TestCase("m")]
    [TestCase("-00:01:00")]
    public void TryParseDuration_OtherText_IsRefused(string text) =>
        Assert.That(TimeText.TryParseDuration(text, out _), Is.False);

    [TestCase(15, "15s")]
    [TestCase(90, "1m30s")]
    [TestCase(3600, "1h")]
    [TestCase(86400 + 7200, "1d2h")]
    public void Format_Duration_IsShort(int seconds, string expected) =>
        Assert.That(TimeText.Format(TimeSpan.FromSeconds(seconds)), Is.EqualTo(expected));
}
