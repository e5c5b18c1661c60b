using System.Globalization;
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
        var groups = new List<(double Center, string Name)>();
        var position = 0.0;
        var top = 100.0;

        // The idempotent consumer is judged by the time it adds per event, not by a share of a bare handler's rate.
        foreach (var scenario in results.Select(r => r.Scenario).Distinct().Where(s => s != Scenarios.Idempotency.Name))
        {
            var first = position;
            foreach (var r in results.Where(r => r.Scenario == scenario))
            {
                var ratio = Report.RatioToRaw(r, results);
                if (ratio is null)
                {
                    continue;
                }

                var percent = ratio.Value * 100;
                top = Math.Max(top, percent);
                var color = r.Role switch { Role.Ours => Colors.SteelBlue, Role.Raw => Colors.Gray, _ => Colors.DarkOrange };
                bars.Add(new Bar { Position = position, Value = percent, FillColor = color, Label = percent.ToString("F0", CultureInfo.InvariantCulture) + "%" });
                ticks.Add(new Tick(position, ShortName(r)));
                position += 1;
            }

            if (position > first)
            {
                groups.Add(((first + position - 1) / 2, scenario));
                position += 1; // a gap between scenarios
            }
        }

        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 11;
        for (var g = 0; g < groups.Count; g++)
        {
            // Titles alternate between two heights, so neighbours never overlap.
            var (center, name) = groups[g];
            var text = plot.Add.Text(Title(name), center, top * (g % 2 == 0 ? 1.15 : 1.06));
            text.LabelFontSize = 13;
            text.LabelBold = true;
            text.LabelAlignment = Alignment.LowerCenter;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 35;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Bottom.MinimumSize = 150; // room for the rotated contender names
        plot.Axes.SetLimitsY(0, top * 1.25);
        plot.YLabel("throughput, % of the raw limit (same run)");
        plot.Title("EventSourcing.SystemOfRecord: ours (blue), raw limit (grey), peers (orange)");
        plot.Legend.IsVisible = false;
        plot.SavePng(path, 1400, 760);
    }

    private static string Title(string scenario) => scenario switch
    {
        Scenarios.SqliteAppend.Name => "durable append, SQLite",
        Scenarios.KafkaAppend.InMemoryName => "in-memory + Kafka",
        Scenarios.KafkaAppend.Name => "SQLite + Kafka",
        Scenarios.ExactlyOnce.Name => "exactly-once",
        Scenarios.Replay.ToMemory => "replay to memory",
        Scenarios.Replay.ToKafka => "replay to Kafka",
        _ => scenario,
    };

    private static string ShortName(Result r)
    {
        var c = r.Contender;
        if (r.Role != Role.Ours)
        {
            return r.Role switch
            {
                Role.Raw => "raw",
                _ when c.StartsWith("Akka", StringComparison.Ordinal) => "Akka.NET",
                _ when c.StartsWith("Wolverine", StringComparison.Ordinal) => "Wolverine",
                _ => c,
            };
        }

        var name = "ours";
        if (c.Contains("(Acknowledged", StringComparison.Ordinal))
        {
            name += ", Acknowledged";
        }
        else if (c.Contains("(Committed", StringComparison.Ordinal))
        {
            name += ", Committed";
        }

        if (c.Contains("exactly-once", StringComparison.Ordinal))
        {
            name += c.Contains("InMemoryEventStore", StringComparison.Ordinal) ? ", in-memory store" : ", SQLite";
        }

        if (c.Contains("1024 appenders", StringComparison.Ordinal))
        {
            name += ", 1024 appenders";
        }

        if (c.Contains("bucket by bucket", StringComparison.Ordinal))
        {
            name += ", bucket by bucket";
        }

        return name;
    }
}
