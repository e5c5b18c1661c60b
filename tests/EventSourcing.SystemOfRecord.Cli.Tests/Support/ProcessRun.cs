using System.Diagnostics;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Support;

/// <summary>Runs a program to its end (or kills it at the deadline) and keeps what it printed.</summary>
internal static class ProcessRun
{
    /// <summary>The dotnet host that runs these tests (the SDK sets DOTNET_HOST_PATH for test runs).</summary>
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(fileName)} {string.Join(' ', args)} did not end within {timeout}.");
        }

        return (process.ExitCode, await output + await error);
    }
}
