using System.CommandLine.Invocation;
using System.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Checkpoints;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Read;
using EventSourcing.SystemOfRecord.Cli.Reconcile;
using EventSourcing.SystemOfRecord.Cli.Relay;
using EventSourcing.SystemOfRecord.Cli.Republish;
using EventSourcing.SystemOfRecord.Cli.Stats;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli;

/// <summary>The <c>sor</c> command line: its commands, and running one with documented exit codes.</summary>
internal static class SorCli
{
    /// <summary>Builds the command tree; <paramref name="console"/> is where its commands write.</summary>
    public static RootCommand CreateRootCommand(CliConsole console)
    {
        var global = new GlobalOptions(console);
        var root = new RootCommand(
            "sor: inspect, republish and reconcile an EventSourcing.SystemOfRecord store (SQLite or Cassandra) and its Kafka topics; see and take over the application instances' publish cursors.");
        global.AddTo(root);
        root.Subcommands.Add(StatsCommand.Create(global));
        root.Subcommands.Add(ReadCommand.Create(global));
        root.Subcommands.Add(RepublishCommand.Create(global));
        root.Subcommands.Add(ReconcileCommand.Create(global));
        root.Subcommands.Add(CheckpointsCommand.Create(global));
        root.Subcommands.Add(RelayCommand.Create(global));
        return root;
    }

    /// <summary>Parses <paramref name="args"/> without running anything (the documentation test parses every example).</summary>
    public static ParseResult Parse(IReadOnlyList<string> args, CliConsole? console = null) =>
        CreateRootCommand(console ?? new CliConsole(Spectre.Console.AnsiConsole.Console, Spectre.Console.AnsiConsole.Console)).Parse(args);

    /// <summary>Runs the command line: bad arguments exit with <see cref="ExitCodes.Usage"/>; <paramref name="cancellationToken"/> is Ctrl+C.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        try
        {
            return await ParseAndInvokeAsync(args, console, cancellationToken);
        }
        catch (Exception ex)
        {
            // The commands report their own failures; this is a fault of the tool itself.
            console.WriteError($"Unexpected {ex.GetType().Name}: {ex.Message}");
            console.RawError.WriteLine(ex.ToString());
            return ExitCodes.InternalError;
        }
    }

    private static async Task<int> ParseAndInvokeAsync(IReadOnlyList<string> args, CliConsole console, CancellationToken cancellationToken)
    {
        var parse = CreateRootCommand(console).Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors)
            {
                console.WriteError(error.Message);
            }

            var command = string.Join(' ', parse.CommandResult.Command.Parents.OfType<Command>().Reverse().Select(c => c.Name).Append(parse.CommandResult.Command.Name).Skip(1));
            console.Error.WriteLine($"Usage: sor {(command.Length > 0 ? command + " " : string.Empty)}--help");
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = console.RawOutput,
            Error = console.RawError,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null, // Ctrl+C is the caller's token: a republish stops at an exact checkpoint
        };
        return await parse.InvokeAsync(invocation, cancellationToken);
    }
}
