using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli;

/// <summary>
/// Where <c>sor</c> writes and what it reads from its surroundings: standard output (tables, charts, progress and
/// JSON), standard error (errors, warnings, logs), the clock and the environment. Tests pass recording consoles.
/// </summary>
internal sealed class CliConsole
{
    public CliConsole(IAnsiConsole output, IAnsiConsole error, TimeProvider? clock = null, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        Output = output;
        Error = error;
        Clock = clock ?? TimeProvider.System;
        Environment = environment ?? System.Environment.GetEnvironmentVariable;
    }

    /// <summary>Standard output, for results a person reads.</summary>
    public IAnsiConsole Output { get; }

    /// <summary>Standard error.</summary>
    public IAnsiConsole Error { get; }

    /// <summary>
    /// Standard output without Spectre's layout (no wrapping at the terminal width), for machine-readable lines such as
    /// JSON: a long line must stay one line.
    /// </summary>
    public TextWriter RawOutput => Output.Profile.Out.Writer;

    /// <summary>Standard error without Spectre's layout.</summary>
    public TextWriter RawError => Error.Profile.Out.Writer;

    /// <summary>The clock that <c>now</c> in a time argument reads.</summary>
    public TimeProvider Clock { get; }

    /// <summary>Reads an environment variable (the Cassandra password, for one).</summary>
    public Func<string, string?> Environment { get; }

    /// <summary>The process's own console: standard output and standard error.</summary>
    public static CliConsole ForProcess() => new(
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) }),
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }));

    /// <summary>Writes a one-line error to standard error (unwrapped, so it stays one line), the prefix in red on a colour terminal.</summary>
    public void WriteError(string message) => WriteLabelled("error:", "31", message);

    /// <summary>Writes a one-line warning to standard error.</summary>
    public void WriteWarning(string message) => WriteLabelled("warning:", "33", message);

    private void WriteLabelled(string label, string colour, string message)
    {
        var prefix = Error.Profile.Capabilities.Ansi ? $"\u001b[{colour}m{label}\u001b[0m" : label;
        RawError.WriteLine($"{prefix} {message}");
    }
}
