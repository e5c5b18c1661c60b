using System.CommandLine;
using System.Globalization;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Stores;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli.Relay;

/// <summary>
/// <c>sor relay list | parked --instance I | takeover --instance I</c>: the publish pipelines of the application
/// instances writing to a store (publish recovery keeps each one's cursor, lease and parked events there).
/// </summary>
internal static class RelayCommand
{
    public static Command Create(GlobalOptions global)
    {
        var command = new Command("relay", "The publish cursors of the application instances (publish recovery): list them, show an instance's parked events, take over a dead instance.");
        command.Subcommands.Add(List(global));
        command.Subcommands.Add(Parked(global));
        command.Subcommands.Add(TakeoverCommand.Create(global));
        return command;
    }

    /// <summary>The --instance option of the commands about one instance.</summary>
    internal static Option<string> InstanceOption(Command command)
    {
        var instance = new Option<string>("--instance")
        {
            Description = "The application instance (its SystemOfRecordOptions.InstanceName), as sor relay list shows it.",
            HelpName = "NAME",
            Required = true,
        };
        command.Options.Add(instance);
        command.Validators.Add(result =>
        {
            if (result.IsGiven(instance) && string.IsNullOrWhiteSpace(result.ValueOrDefault(instance)))
            {
                result.AddError("--instance needs an instance name.");
            }
        });
        return instance;
    }

    private static Command List(GlobalOptions global)
    {
        var command = new Command("list", "Every instance's publish cursor: its time, the lag behind now, the reservation, whether its holder let go, and its parked events.");
        global.RequireStore(command);
        var json = new Option<bool>("--json") { Description = "Print one JSON object per instance, one per line." };
        command.Options.Add(json);
        CommandRunner.SetBody(command, global, async context =>
        {
            var cancellationToken = context.CancellationToken;
            await using var session = await StoreSession.OpenAsync(global.StoreSettings(context.Parse), context.Logging, cancellationToken);
            await using var host = SystemOfRecordHost.Create(session.Store, session.Increment, publisher: null, context.Logging);
            var now = context.Console.Clock.GetUtcNow();
            var rows = new List<RelayJson.Instance>();
            await foreach (var cursor in host.System.GetPublishCursorsAsync(cancellationToken))
            {
                var parked = 0L;
                await foreach (var _ in host.System.GetParkedEventsAsync(cursor.InstanceName, cancellationToken))
                {
                    parked++;
                }

                var lag = now - cursor.Cursor.GetTimestamp();
                rows.Add(new RelayJson.Instance(cursor, lag < TimeSpan.Zero ? TimeSpan.Zero : lag, parked));
            }

            if (context.Value(json))
            {
                foreach (var row in rows)
                {
                    context.Console.RawOutput.WriteLine(RelayJson.Format(row));
                }

                return ExitCodes.Success;
            }

            var output = context.Console.Output;
            if (rows.Count == 0)
            {
                output.MarkupLine("[grey]No publish cursors: no instance has run with publish recovery on this store.[/]");
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded)
                .AddColumn("Instance").AddColumn("Holder").AddColumn("Cursor (UTC)").AddColumn(new TableColumn("Lag").RightAligned())
                .AddColumn("Reserved until (UTC)").AddColumn(new TableColumn("Parked").RightAligned());
            foreach (var row in rows)
            {
                var cursor = row.Cursor;
                table.AddRow(
                    Markup.Escape(cursor.InstanceName),
                    cursor.IsReleased ? "[green]released[/]" : "[yellow]held[/]",
                    TimeText.Format(cursor.Cursor.GetTimestamp().UtcDateTime),
                    TimeText.Format(TimeSpan.FromSeconds(Math.Round(row.Lag.TotalSeconds))),
                    TimeText.Format(cursor.ReservedUntil.UtcDateTime),
                    row.Parked == 0 ? "0" : $"[red]{row.Parked.ToString("N0", CultureInfo.InvariantCulture)}[/]");
            }

            output.Write(table);
            output.MarkupLine(
                "[grey]held: a process holds the name, or held it and died without letting go; take a dead one over with "
                + "sor relay takeover --instance NAME. Lag: now less the cursor's time (it grows while an instance is idle or stopped). "
                + "Parked events: sor relay parked --instance NAME.[/]");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Parked(GlobalOptions global)
    {
        var command = new Command("parked", "The events an instance's publisher refused for good (parked, so that the cursor moved on), with their bucket and the reason.");
        global.RequireStore(command);
        var instance = InstanceOption(command);
        var json = new Option<bool>("--json") { Description = "Print one JSON object per parked event, one per line." };
        command.Options.Add(json);
        CommandRunner.SetBody(command, global, async context =>
        {
            var cancellationToken = context.CancellationToken;
            var name = context.Value(instance)!;
            await using var session = await StoreSession.OpenAsync(global.StoreSettings(context.Parse), context.Logging, cancellationToken);
            await using var host = SystemOfRecordHost.Create(session.Store, session.Increment, publisher: null, context.Logging);
            var parked = new List<ParkedEvent>();
            try
            {
                await foreach (var item in host.System.GetParkedEventsAsync(name, cancellationToken))
                {
                    parked.Add(item);
                }
            }
            catch (ArgumentException ex)
            {
                throw new CliException(ExitCodes.Usage, ex.Message, ex);
            }

            if (context.Value(json))
            {
                foreach (var item in parked)
                {
                    context.Console.RawOutput.WriteLine(RelayJson.Format(item));
                }

                return ExitCodes.Success;
            }

            var output = context.Console.Output;
            if (parked.Count == 0)
            {
                output.MarkupLineInterpolated($"[grey]Instance {name} has no parked events.[/]");
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumn("Event id").AddColumn("Bucket (UTC)").AddColumn("Reason");
            foreach (var item in parked)
            {
                table.AddRow(item.EventId.ToString(), TimeText.Format(item.TimeBucket), Markup.Escape(item.Reason));
            }

            output.Write(table);
            var first = parked[0].TimeBucket;
            output.MarkupLineInterpolated(
                $"[grey]They stay in the store. Once the cause is fixed, republish each one's bucket, e.g. sor republish --from {TimeText.Format(first)} --to {TimeText.Format(first + session.Increment)} (with the store and Kafka options); the records stay listed until deleted (sor checkpoints list --prefix publish-parked/{name}/).[/]");
            return ExitCodes.Success;
        });
        return command;
    }
}
