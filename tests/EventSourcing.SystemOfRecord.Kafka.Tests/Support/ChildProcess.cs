using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>
/// This test assembly doubles as an application, so that a fault test can kill a real process with SIGKILL:
/// <c>dotnet exec EventSourcing.SystemOfRecord.Kafka.Tests.dll record &lt;sqlite file&gt; &lt;bootstrap servers&gt; &lt;topic&gt; &lt;appenders&gt; [mode [pause ms]]</c>
/// runs a <see cref="RecordingApp"/> and appends events until it is killed, printing <c>appended N</c> every 100 appends
/// that returned (published in <see cref="PublishMode.Acknowledged"/>, stored otherwise). The mode is
/// <see cref="RecordingAppSettings.ModeArgument"/>: <c>acknowledged</c> (the default), <c>committed</c> or
/// <c>exactly-once:&lt;cursor topic&gt;</c>; each appender pauses that many milliseconds after each append (none by default).
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private const string Command = "record";

    private readonly Process _process;
    private readonly StringBuilder _errors = new();
    private int _appended;

    private ChildProcess(Process process) => _process = process;

    /// <summary>Events the child reported appended and published.</summary>
    public int Appended => Volatile.Read(ref _appended);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>What the child wrote to stderr so far, for failure messages.</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    public static async Task<int> Main(string[] args)
    {
        if (args is not [Command, _, _, _, _, ..] || args.Length > 7)
        {
            await Console.Error.WriteLineAsync($"usage: {Command} <sqlite file> <bootstrap servers> <topic> <appenders> [acknowledged|committed|exactly-once:<cursor topic> [pause ms]]");
            return 2;
        }

        var (file, bootstrapServers, topic, appenders) = (args[1], args[2], args[3], int.Parse(args[4], CultureInfo.InvariantCulture));
        var pause = TimeSpan.FromMilliseconds(args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 0);

        // Linger keeps each batch in the producer for a while, so a kill finds recorded events that never left the process.
        var settings = new RecordingAppSettings(file, bootstrapServers, topic) { LingerMs = 200 }.WithModeArgument(args.Length > 5 ? args[5] : "acknowledged");
        await using var app = await RecordingApp.StartAsync(settings);

        // Never outlive the test: stop when the parent goes away (stdin closes) or after two minutes.
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _ = Task.Run(async () =>
        {
            await Console.In.ReadToEndAsync();
            await stop.CancelAsync();
        });

        var appended = 0;
        await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await app.System.AppendAsync($"{{\"appender\":{a},\"n\":{i}}}", key: $"key-{a % 16}");
                }
                catch (EventPublishException)
                {
                    continue; // recorded; publish recovery publishes it
                }

                var n = Interlocked.Increment(ref appended);
                if (n % 100 == 0)
                {
                    Console.WriteLine($"appended {n}");
                }

                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause);
                }
            }
        })));
        return 1; // only when nobody killed it
    }

    /// <summary>
    /// Starts this assembly as a recording application on <paramref name="file"/>, in the mode <paramref name="mode"/>
    /// (<see cref="RecordingAppSettings.ModeArgument"/>), each appender pausing <paramref name="pause"/> after each append.
    /// </summary>
    public static ChildProcess Start(string file, string bootstrapServers, string topic, int appenders, string mode = "acknowledged", TimeSpan pause = default)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", typeof(ChildProcess).Assembly.Location, Command, file, bootstrapServers, topic, appenders.ToString(CultureInfo.InvariantCulture), mode, ((int)pause.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = start };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("appended ", StringComparison.Ordinal))
            {
                var n = int.Parse(line["appended ".Length..], CultureInfo.InvariantCulture);
                InterlockedMax(ref child._appended, n);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (child._errors)
                {
                    child._errors.AppendLine(line);
                }
            }
        };

        if (!process.Start())
        {
            throw new InvalidOperationException("Could not start the child process.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>SIGKILL: the process gets no chance to flush, persist or say goodbye.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
