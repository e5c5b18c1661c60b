using Spectre.Console.Testing;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Support;

/// <summary>What one run of the tool did: its exit code and what it wrote to standard output and standard error.</summary>
internal sealed record SorRun(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Error}";
}

/// <summary>Runs <c>sor</c> in process, on recording consoles wide enough that no line wraps.</summary>
internal static class Sor
{
    public static Task<SorRun> RunAsync(params string[] args) => RunAsync(args, environment: null, CancellationToken.None);

    public static Task<SorRun> RunAsync(string[] args, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken, TimeProvider? clock = null) =>
        Start(args, cancellationToken, out _, environment, clock);

    /// <summary>Starts a run; <paramref name="outputSoFar"/> reads what it has written to standard output until now.</summary>
    public static Task<SorRun> Start(
        string[] args,
        CancellationToken cancellationToken,
        out Func<string> outputSoFar,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeProvider? clock = null)
    {
        var output = new TestConsole().Width(400);
        var error = new TestConsole().Width(400);
        var console = new CliConsole(output, error, clock, name => environment is not null && environment.TryGetValue(name, out var value) ? value : null);
        outputSoFar = () =>
        {
            try
            {
                return output.Output;
            }
            catch (ArgumentOutOfRangeException)
            {
                return string.Empty; // read while a progress display wrote: look again
            }
        };
        return RunAsync(console, output, error, args, cancellationToken);
    }

    private static async Task<SorRun> RunAsync(CliConsole console, TestConsole output, TestConsole error, string[] args, CancellationToken cancellationToken)
    {
        var exitCode = await SorCli.RunAsync(args, console, cancellationToken);
        return new SorRun(exitCode, output.Output, error.Output);
    }
}
