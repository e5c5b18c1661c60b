using System.Diagnostics;
using System.Globalization;
using EventSourcing.SystemOfRecord.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

/// <summary>
/// This test assembly doubles as a program, so that a test can append from a real second process:
/// <c>dotnet exec EventSourcing.SystemOfRecord.Sqlite.Tests.dll append &lt;file&gt; &lt;events&gt; &lt;appenders&gt;</c>.
/// </summary>
internal static class ChildProcess
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["append", var file, var countText, var appendersText])
        {
            await Console.Error.WriteLineAsync("usage: append <file> <events> <appenders>");
            return 2;
        }

        var count = int.Parse(countText, CultureInfo.InvariantCulture);
        var appenders = int.Parse(appendersText, CultureInfo.InvariantCulture);
        await using var store = new SqliteEventStore(new SqliteStoreOptions { ConnectionString = $"Data Source={file}" });
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, appenders).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await store.AppendAsync(TestEvents.Create($"child-{i}"));
            }
        })));
        Console.WriteLine($"appended {count}");
        return 0;
    }

    /// <summary>Starts this assembly as another process that appends <paramref name="count"/> events to <paramref name="file"/>.</summary>
    public static Process StartAppending(string file, int count, int appenders)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", typeof(ChildProcess).Assembly.Location, "append", file, count.ToString(CultureInfo.InvariantCulture), appenders.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("Could not start the child process.");
    }
}
