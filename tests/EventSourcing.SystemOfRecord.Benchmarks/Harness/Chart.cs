using ScottPlot;

namespace EventSourcing.SystemOfRecord.Benchmarks.Harness;

/// <summary>A bar per contender and scenario: its throughput as a percentage of the raw limit measured in the same run.</summary>
internal static class Chart
{
    public static void Render(string path, IReadOnlyList<Result> results)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        var position = 0.0;
        // The idempotent consumer is judged by the time it adds per event, not by a share of a bare handler's rate.
        foreach (var scenario in results.Select(r => r.Scenario).Distinct().Where(s => s != Scenarios.Idempotency.Name))
        {
            var rows = results.Where(r => r.Scenario == scenario).ToList();
            var first = position;
            foreach (var r in rows)
            {
                var ratio = Report.RatioToRaw(r, results);
                if (ratio is null)
                {
                    continue;
                }

                var color = r.Role switch { Role.Ours => Colors.SteelBlue, Role.Raw => Colors.Gray, _ => Colors.DarkOrange };
                bars.Add(new Bar { Position = position, Value = ratio.Value * 100, FillColor = color, Label = (ratio.Value * 100).ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + "%" });
                position += 1;
            }

            if (position > first)
            {
                ticks.Add(new Tick((first + position - 1) / 2, scenario.Replace(", ", "\n", StringComparison.Ordinal)));
                position += 1; // a gap between scenarios
            }
        }

        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 11;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Margins(bottom: 0);
        plot.YLabel("throughput, % of the raw limit (same run)");
        plot.Title("EventSourcing.SystemOfRecord: ours (blue), raw limit (grey), peers (orange)");
        plot.Legend.IsVisible = false;
        plot.SavePng(path, 1400, 650);
    }
}
