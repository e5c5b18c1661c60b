using System.Buffers;
using System.CommandLine;
using System.Text;
using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Republish;
using EventSourcing.SystemOfRecord.Cli.Stores;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli.Checkpoints;

/// <summary>
/// <c>sor checkpoints list [--prefix P] [--json]</c>, <c>show NAME</c>, <c>delete NAME</c>: the named checkpoints a store
/// keeps (managed replays under <c>replay/</c>, publish cursors, leases), through <see cref="ICheckpointStore"/>.
/// </summary>
internal static class CheckpointsCommand
{
    public static Command Create(GlobalOptions global)
    {
        var command = new Command("checkpoints", "List, show or delete the named checkpoints the store keeps (managed replays under replay/).");
        command.Subcommands.Add(List(global));
        command.Subcommands.Add(Show(global));
        command.Subcommands.Add(Delete(global));
        return command;
    }

    private static Command List(GlobalOptions global)
    {
        var command = new Command("list", "List the checkpoints, in name order.");
        global.RequireStore(command);
        var prefix = new Option<string>("--prefix") { Description = "Only names that start with this (case-sensitive), e.g. replay/.", HelpName = "PREFIX", DefaultValueFactory = _ => string.Empty };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per line: name and value." };
        command.Options.Add(prefix);
        command.Options.Add(json);
        CommandRunner.SetBody(command, global, async context =>
        {
            await using var session = await StoreSession.OpenAsync(global.StoreSettings(context.Parse), context.Logging, context.CancellationToken);
            await using var host = SystemOfRecordHost.Create(session.Store, session.Increment, publisher: null, context.Logging);
            var table = new Table().Border(TableBorder.Rounded).AddColumn("Name").AddColumn("Value").AddColumn("Meaning");
            var count = 0;
            await foreach (var (name, value) in session.Checkpoints.ReadCheckpointsAsync(context.Value(prefix) ?? string.Empty, context.CancellationToken))
            {
                count++;
                if (context.Value(json))
                {
                    context.Console.RawOutput.WriteLine(Json(name, value));
                }
                else
                {
                    var meaning = await MeaningAsync(host.System, name, context.CancellationToken);
                    table.AddRow(Markup.Escape(name), Markup.Escape(value), Markup.Escape(meaning));
                }
            }

            if (!context.Value(json))
            {
                if (count == 0)
                {
                    context.Console.Output.MarkupLine("[grey]No checkpoints.[/]");
                }
                else
                {
                    context.Console.Output.Write(table);
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(GlobalOptions global)
    {
        var command = new Command("show", "Print one checkpoint's value (and what it means, for a replay).");
        global.RequireStore(command);
        var name = new Argument<string>("NAME") { Description = "The checkpoint's full name, e.g. replay/nightly." };
        command.Arguments.Add(name);
        CommandRunner.SetBody(command, global, async context =>
        {
            var checkpoint = context.Value(name)!;
            await using var session = await StoreSession.OpenAsync(global.StoreSettings(context.Parse), context.Logging, context.CancellationToken);
            await using var host = SystemOfRecordHost.Create(session.Store, session.Increment, publisher: null, context.Logging);
            var value = await session.Checkpoints.ReadCheckpointAsync(checkpoint, context.CancellationToken)
                ?? throw new CliException(ExitCodes.NotFound, $"There is no checkpoint named '{checkpoint}'.");
            context.Console.RawOutput.WriteLine(value);
            var meaning = await MeaningAsync(host.System, checkpoint, context.CancellationToken);
            if (meaning.Length > 0)
            {
                context.Console.Error.MarkupLineInterpolated($"[grey]{meaning}[/]");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Delete(GlobalOptions global)
    {
        var command = new Command("delete", "Delete one checkpoint: a replay of that name then starts over.");
        global.RequireStore(command);
        var name = new Argument<string>("NAME") { Description = "The checkpoint's full name, e.g. replay/nightly." };
        command.Arguments.Add(name);
        CommandRunner.SetBody(command, global, async context =>
        {
            var checkpoint = context.Value(name)!;
            await using var session = await StoreSession.OpenAsync(global.StoreSettings(context.Parse), context.Logging, context.CancellationToken);
            var checkpoints = session.Checkpoints;
            var value = await checkpoints.ReadCheckpointAsync(checkpoint, context.CancellationToken)
                ?? throw new CliException(ExitCodes.NotFound, $"There is no checkpoint named '{checkpoint}'.");
            await checkpoints.DeleteCheckpointAsync(checkpoint, context.CancellationToken);

            context.Console.Output.MarkupLineInterpolated($"Deleted checkpoint [bold]{checkpoint}[/] (it was: {value}).");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>What a checkpoint means, when the tool knows its kind (managed replays); empty otherwise.</summary>
    private static async Task<string> MeaningAsync(SystemOfRecord sor, string name, CancellationToken cancellationToken)
    {
        if (!name.StartsWith(RepublishCommand.CheckpointPrefix, StringComparison.Ordinal))
        {
            return string.Empty;
        }

        try
        {
            var replay = await sor.GetReplayCheckpointAsync(name[RepublishCommand.CheckpointPrefix.Length..], cancellationToken);
            return replay is null ? string.Empty : "replay: " + RepublishCommand.Describe(replay);
        }
        catch (InvalidOperationException)
        {
            return "not a replay checkpoint this version reads";
        }
    }

    private static string Json(string name, string value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("value", value);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
