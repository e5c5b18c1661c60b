using System.CommandLine;
using Confluent.Kafka;
using EventSourcing.SystemOfRecord.Cassandra;
using EventSourcing.SystemOfRecord.Cli.Logging;
using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli.CommandLine;

/// <summary>What a command's body gets: the parsed line, the consoles, logging, and the token Ctrl+C cancels.</summary>
internal sealed class CommandContext(ParseResult parse, GlobalOptions global, ILoggerFactory logging, CancellationToken cancellationToken)
{
    public ParseResult Parse { get; } = parse;

    public GlobalOptions Global { get; } = global;

    public CliConsole Console => Global.Console;

    public ILoggerFactory Logging { get; } = logging;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public T? Value<T>(Option<T> option) => Parse.GetValue(option);

    public T? Value<T>(Argument<T> argument) => Parse.GetValue(argument);
}

/// <summary>
/// Runs a command's body and turns what goes wrong into one line on standard error and a documented exit code
/// (<see cref="ExitCodes"/>); the stack trace only with --verbose.
/// </summary>
internal static class CommandRunner
{
    /// <summary>Sets <paramref name="body"/> as the action of <paramref name="command"/>.</summary>
    public static void SetBody(Command command, GlobalOptions global, Func<CommandContext, Task<int>> body) =>
        command.SetAction((parse, cancellationToken) => RunAsync(parse, global, body, cancellationToken));

    private static async Task<int> RunAsync(ParseResult parse, GlobalOptions global, Func<CommandContext, Task<int>> body, CancellationToken cancellationToken)
    {
        var console = global.Console;
        var verbose = global.IsVerbose(parse);
        using var logging = LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.None);
            if (verbose)
            {
                builder.AddProvider(new StandardErrorLoggerProvider(console.RawError));
            }
        });

        try
        {
            return await body(new CommandContext(parse, global, logging, cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.WriteWarning("Stopped before the end.");
            return ExitCodes.Cancelled;
        }
        catch (Exception ex)
        {
            var (exitCode, message) = Describe(ex);
            console.WriteError(message);
            if (verbose)
            {
                console.RawError.WriteLine(ex.ToString());
            }
            else if (exitCode == ExitCodes.InternalError)
            {
                console.Error.WriteLine("Run again with --verbose for the details.");
            }

            return exitCode;
        }
    }

    /// <summary>The exit code and the one-line message for a failure.</summary>
    internal static (int ExitCode, string Message) Describe(Exception exception) => exception switch
    {
        CliException cli => (cli.ExitCode, cli.Message),
        OptionsValidationException options => (ExitCodes.Usage, options.Message),
        SqliteStoreException store => (ExitCodes.StoreUnavailable, store.Message), // names the file and SQLite's error
        SqliteException sqlite => (ExitCodes.StoreUnavailable, "SQLite: " + sqlite.Message),
        CassandraException cassandra => (ExitCodes.StoreUnavailable, "Cassandra: " + cassandra.Message),
        BucketIncrementMismatchException mismatch => (ExitCodes.StoreUnavailable, mismatch.Message),
        KafkaPublishException kafka => (ExitCodes.BrokerUnavailable, "Kafka: " + kafka.Message),
        KafkaException kafka => (ExitCodes.BrokerUnavailable, "Kafka: " + kafka.Error.Reason),
        EventPublishException publish => (ExitCodes.BrokerUnavailable, "Publishing failed: " + (publish.InnerException?.Message ?? publish.Message)),
        InstanceConflictException conflict => (ExitCodes.Refused, conflict.Message),
        NotSupportedException unsupported => (ExitCodes.Refused, unsupported.Message),
        _ => (ExitCodes.InternalError, $"Unexpected {exception.GetType().Name}: {exception.Message}"),
    };
}
