using System.Globalization;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli.Stats;

/// <summary>The statistics as a person reads them in a terminal: a summary, the largest buckets, a bar chart.</summary>
internal static class StatsView
{
    public static void Write(IAnsiConsole console, RangeStatistics stats, string store)
    {
        var summary = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        summary.AddRow("Store", Markup.Escape(store));
        summary.AddRow("Range", $"{TimeText.Format(stats.FirstBucket)} to {TimeText.Format(stats.End)} (end exclusive)");
        summary.AddRow("Bucket increment", TimeText.Format(stats.Increment));
        summary.AddRow("Buckets", $"{N(stats.BucketsInRange)} in the range, {N(stats.BucketsWithEvents)} with events");
        summary.AddRow("Events", N(stats.Events));
        if (stats.FirstEvent is { } first && stats.LastEvent is { } last)
        {
            summary.AddRow("First event", $"{TimeText.Format(first.Timestamp)}  {first.EventId}");
            summary.AddRow("Last event", $"{TimeText.Format(last.Timestamp)}  {last.EventId}");
        }

        summary.AddRow(
            "Over 100k guidance",
            stats.BucketsOverGuidance == 0
                ? "[green]no bucket[/]"
                : $"[red]{N(stats.BucketsOverGuidance)} bucket(s)[/]: use a smaller bucket increment for new stores");
        console.Write(summary);
        console.WriteLine();

        if (stats.Events == 0)
        {
            console.MarkupLine("[yellow]No events in the range.[/]");
            return;
        }

        if (stats.Topics.Count > 1 || stats.OtherTopicsEvents > 0)
        {
            var topics = new Table().Border(TableBorder.Rounded).Title("Events per topic").AddColumn("Topic").AddColumn(new TableColumn("Events").RightAligned());
            foreach (var (topic, events) in stats.Topics.Take(20))
            {
                topics.AddRow(Markup.Escape(topic), N(events));
            }

            if (stats.Topics.Count > 20 || stats.OtherTopicsEvents > 0)
            {
                topics.AddRow("[grey](other topics)[/]", N(stats.Topics.Skip(20).Sum(t => t.Value) + stats.OtherTopicsEvents));
            }

            console.Write(topics);
        }

        var largest = new Table().Border(TableBorder.Rounded).Title("Largest buckets").AddColumn("Bucket (UTC)").AddColumn(new TableColumn("Events").RightAligned());
        foreach (var (bucket, events) in stats.Largest)
        {
            largest.AddRow(TimeText.Format(bucket), events > RangeStatistics.BucketGuidance ? $"[red]{N(events)}[/]" : N(events));
        }

        console.Write(largest);
        if (stats.OverGuidance.Count > 0)
        {
            var over = new Table().Border(TableBorder.Rounded).Title($"Buckets over {N(RangeStatistics.BucketGuidance)} events").AddColumn("Bucket (UTC)").AddColumn(new TableColumn("Events").RightAligned());
            foreach (var (bucket, events) in stats.OverGuidance)
            {
                over.AddRow(TimeText.Format(bucket), N(events));
            }

            console.Write(over);
        }

        console.WriteLine();
        var chart = new BarChart().Label($"Events per {stats.Scale.Unit} (UTC)").LeftAlignLabel().Width(Math.Min(100, console.Profile.Width));
        var labelFormat = stats.Scale.Width >= TimeSpan.FromDays(1) ? "yyyy-MM-dd" : "yyyy-MM-dd HH:mm" + (stats.Scale.Width.Ticks % TimeSpan.TicksPerMinute != 0 ? ":ss" : string.Empty);
        for (var i = 0; i < stats.Scale.Bars; i++)
        {
            chart.AddItem(stats.Scale.BarStart(i).ToString(labelFormat, CultureInfo.InvariantCulture), stats.EventsPerBar[i], Color.SteelBlue);
        }

        console.Write(chart);
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
