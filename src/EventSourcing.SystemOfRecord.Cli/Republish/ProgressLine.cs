using System.Globalization;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli.Republish;

/// <summary>
/// Feeds a Spectre progress task from <see cref="ReplayProgress"/> reports: the bar counts buckets, the text shows
/// buckets, events, events per second and the library's ETA. Reports come from the replay's thread.
/// </summary>
internal sealed class ProgressLine(ProgressTask task) : IProgress<ReplayProgress>
{
    public void Report(ReplayProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        task.MaxValue = Math.Max(1, value.BucketsTotal);
        task.Value = value.BucketsCompleted;
        task.Description = Markup.Escape(Describe(value));
    }

    public static string Describe(ReplayProgress value)
    {
        var eta = value.EstimatedRemaining is { } remaining ? TimeText.Format(TimeSpan.FromSeconds(Math.Ceiling(remaining.TotalSeconds))) : "?";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{value.BucketsCompleted:N0}/{value.BucketsTotal:N0} buckets, {value.Events:N0} events, {value.EventsPerSecond:N0} events/s, ETA {eta}");
    }
}
