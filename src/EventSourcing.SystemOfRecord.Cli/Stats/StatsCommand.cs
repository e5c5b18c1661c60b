using System.CommandLine;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Stores;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli.Stats;

/// <summary><c>sor stats --from --to [--json] [--png FILE]</c>: what a range of the store holds.</summary>
internal static class StatsCommand
{
    public static Command Create(GlobalOptions global)
    {
        var command = new Command("stats", "Events and buckets of a range: counts, first and last event, the largest buckets, buckets over the 100k guidance, and a chart of events over time.");
        global.RequireStore(command);
        var (from, to) = Arguments.Range(command, global.Console, "to count");
        var json = new Option<bool>("--json") { Description = "Print the statistics as one JSON object instead of tables and a chart." };
        var png = new Option<string?>("--png") { Description = "Also save the chart as a PNG image in this file.", HelpName = "FILE" };
        command.Options.Add(json);
        command.Options.Add(png);
        CommandRunner.SetBody(command, global, async context =>
        {
            var settings = global.StoreSettings(context.Parse);
            await using var session = await StoreSession.OpenAsync(settings, context.Logging, context.CancellationToken);
            var first = session.BucketOf(context.Value(from)!.Value);
            var end = context.Value(to)!.Value;
            var stats = new RangeStatistics(first, end, session.Increment);
            await foreach (var recorded in session.Store.ReadRangeAsync(first, end, context.CancellationToken))
            {
                stats.Add(recorded);
            }

            stats.Complete();
            if (context.Value(json))
            {
                context.Console.RawOutput.WriteLine(StatsJson.Format(stats, session.Description));
            }
            else
            {
                StatsView.Write(context.Console.Output, stats, session.Description);
            }

            if (context.Value(png) is { } path)
            {
                try
                {
                    StatsChart.SavePng(stats, path);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new CliException(ExitCodes.Usage, $"Cannot write the chart to {path}: {ex.Message}", ex);
                }

                // Standard error: standard output may be JSON that a script reads.
                context.Console.Error.MarkupLineInterpolated($"Chart saved to [blue]{Path.GetFullPath(path)}[/].");
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
