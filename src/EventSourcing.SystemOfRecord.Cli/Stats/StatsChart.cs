using System.Globalization;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using ScottPlot;

namespace EventSourcing.SystemOfRecord.Cli.Stats;

/// <summary>The events chart as a PNG image (ScottPlot): one bar per chart bar, on a UTC time axis.</summary>
internal static class StatsChart
{
    public const int Width = 1200;
    public const int Height = 600;

    public static void SavePng(RangeStatistics stats, string path)
    {
        var plot = new Plot();
        var scale = stats.Scale;
        var bars = new List<Bar>(scale.Bars);
        for (var i = 0; i < scale.Bars; i++)
        {
            // Centred on the middle of the time the bar covers.
            var middle = scale.BarStart(i).AddTicks(scale.Width.Ticks / 2);
            bars.Add(new Bar
            {
                Position = middle.ToOADate(),
                Value = stats.EventsPerBar[i],
                Size = scale.Width.TotalDays * 0.9,
                FillColor = stats.EventsPerBar[i] > RangeStatistics.BucketGuidance && scale.PerBucket ? Colors.OrangeRed : Colors.SteelBlue,
                LineWidth = 0,
            });
        }

        plot.Add.Bars(bars);
        var axis = plot.Axes.DateTimeTicksBottom();
        if (axis.TickGenerator is ScottPlot.TickGenerators.DateTimeAutomatic ticks)
        {
            // ISO dates, not the invariant culture's month/day/year.
            ticks.LabelFormatter = time => time.ToString(
                time.TimeOfDay == TimeSpan.Zero ? "yyyy-MM-dd" : "yyyy-MM-dd\nHH:mm" + (time.Second != 0 ? ":ss" : string.Empty),
                CultureInfo.InvariantCulture);
        }

        plot.Axes.Margins(bottom: 0);
        plot.YLabel($"events per {scale.Unit}");
        plot.XLabel("time (UTC)");
        plot.Title(string.Create(
            CultureInfo.InvariantCulture,
            $"{stats.Events:N0} events, {TimeText.Format(stats.FirstBucket)} to {TimeText.Format(stats.End)}, buckets of {TimeText.Format(stats.Increment)}"));
        plot.SavePng(path, Width, Height);
    }
}
