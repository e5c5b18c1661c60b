using System.Diagnostics;
using System.Globalization;
using EventSourcing.SystemOfRecord.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

/// <summary>
/// This test assembly doubles as a program, so that a test can work on one file from a real second process:
/// <list type="bullet">
/// <item><c>append &lt;file&gt; &lt;events&gt; &lt;appenders&gt;</c>: appends events from several tasks.</item>
/// <item><c>cas &lt;file&gt; &lt;name&gt; &lt;increments&gt;</c>: after the line "go" on stdin, increments the counter
/// checkpoint <c>name</c> by compare-and-set until it has won <c>increments</c> times.</item>
/// <item><c>fill &lt;folder&gt; &lt;rounds&gt;</c>: on a small volume (<see cref="StartFilling"/>), appends 1 KB events
/// in rounds of 32 until and while the volume is full, disposes the store with appends queued, frees space, checks the file.</item>
/// </list>
/// </summary>
internal static class ChildProcess
{
    public static async Task<int> Main(string[] args)
    {
        switch (args)
        {
            case ["append", var file, var count, var appenders]:
                return await AppendAsync(file, Int(count), Int(appenders));
            case ["cas", var file, var name, var increments]:
                return await IncrementAsync(file, name, Int(increments));
            case ["fill", var folder, var rounds]:
                return await FillAsync(folder, Int(rounds));
            default:
                await Console.Error.WriteLineAsync("usage: append <file> <events> <appenders> | cas <file> <name> <increments> | fill <folder> <rounds>");
                return 2;
        }
    }

    /// <summary>Starts this assembly as another process that appends <paramref name="count"/> events to <paramref name="file"/>.</summary>
    public static Process StartAppending(string file, int count, int appenders) =>
        Start(Command("append", file, Text(count), Text(appenders)), redirectInput: false);

    /// <summary>Starts a process that waits for "go" on its stdin, then wins <paramref name="increments"/> compare-and-sets on counter <paramref name="name"/>.</summary>
    public static Process StartIncrementing(string file, string name, int increments) =>
        Start(Command("cas", file, name, Text(increments)), redirectInput: true);

    /// <summary>
    /// Starts a process in a mount namespace of its own (<c>unshare</c>, no root needed where user namespaces are allowed)
    /// with a tmpfs of <paramref name="sizeKiB"/> KiB on <paramref name="folder"/>, and makes it run <c>fill</c> there:
    /// SQLite then meets a really full volume (ENOSPC), at COMMIT. The tmpfs, and the file on it, go when the process ends.
    /// </summary>
    public static Process StartFilling(string folder, int rounds, int sizeKiB)
    {
        var start = new ProcessStartInfo("unshare");
        foreach (var arg in new[] { "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs -o size=\"$1\"k tmpfs \"$2\" && shift 2 && exec \"$@\"", "sh", Text(sizeKiB), folder, Dotnet() })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var arg in Command("fill", folder, Text(rounds)))
        {
            start.ArgumentList.Add(arg);
        }

        return Start(start, redirectInput: false);
    }

    /// <summary>Whether this machine lets a process make a user and mount namespace (<see cref="StartFilling"/> needs it).</summary>
    public static bool CanUnshareMounts()
    {
        try
        {
            var start = new ProcessStartInfo("unshare") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in new[] { "--user", "--map-root-user", "--mount", "true" })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            return process.WaitForExit(10_000) && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no unshare
        }
    }

    private static async Task<int> AppendAsync(string file, int count, int appenders)
    {
        await using var store = Open(file);
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

    private static async Task<int> IncrementAsync(string file, string name, int increments)
    {
        await using var store = Open(file, SqliteSynchronousMode.Normal);
        await store.EnsureCreatedAsync(TestEvents.Increment);
        Console.WriteLine("ready");
        if (await Console.In.ReadLineAsync() != "go")
        {
            return 3;
        }

        var (won, lost) = await CasCounter.IncrementAsync(store, name, increments);
        Console.WriteLine($"won {won} lost {lost}");
        return 0;
    }

    /// <summary>
    /// On a small volume of its own: fills it with a ballast file and appends until the volume is full, for
    /// <paramref name="rounds"/> rounds of 32 appends; disposes the store with appends still queued; deletes the ballast
    /// (space returns) and checks the file with a new store. Prints one line of key=value results.
    /// </summary>
    private static async Task<int> FillAsync(string folder, int rounds)
    {
        var file = Path.Combine(folder, "events.db");
        var ballast = Path.Combine(folder, "ballast");
        await File.WriteAllBytesAsync(ballast, new byte[512 * 1024]);

        var store = Open(file);
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var acknowledged = 0;
        var failed = 0;
        var fdsAtFirstFailure = 0;
        var codes = new SortedSet<string>(StringComparer.Ordinal);
        for (var round = 0; round < rounds; round++)
        {
            var appends = Enumerable.Range(0, 32).Select(i => store.AppendAsync(FillEvent(round, i)).AsTask()).ToList();
            var failedNow = await CountFailuresAsync(appends, codes);
            acknowledged += appends.Count - failedNow;
            if (failedNow > 0 && failed == 0)
            {
                fdsAtFirstFailure = OpenFileDescriptors();
            }

            failed += failedNow;
        }

        var fdsAtEnd = OpenFileDescriptors();

        // Dispose while the volume is still full, with appends queued: they fail, and nothing may escape on the writer thread.
        var queued = Enumerable.Range(0, 32).Select(i => store.AppendAsync(FillEvent(rounds, i)).AsTask()).ToList();
        await store.DisposeAsync();
        var failedAtDispose = await CountFailuresAsync(queued, codes);
        acknowledged += queued.Count - failedAtDispose;
        failed += failedAtDispose;

        // Space returns. What was acknowledged is there, whole, and nothing else; appends work again.
        File.Delete(ballast);
        await using var reopened = Open(file);
        await reopened.EnsureCreatedAsync(TestEvents.Increment);
        var read = new List<RecordedEvent>();
        await foreach (var recorded in reopened.ReadBucketAsync(TestEvents.Bucket))
        {
            read.Add(recorded);
        }

        var whole = read.Count(e => e.Message.Length == 1024 && e.Message.StartsWith("fill-", StringComparison.Ordinal));
        await reopened.AppendAsync(TestEvents.Create("after space returned"));
        var afterwards = 0;
        await foreach (var _ in reopened.ReadBucketAsync(TestEvents.Bucket))
        {
            afterwards++;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"acknowledged={acknowledged} failed={failed} codes={string.Join(',', codes)} fds-at-first-failure={fdsAtFirstFailure} fds-at-end={fdsAtEnd} read={read.Count} whole={whole} after-space-returned={afterwards}"));
        return 0;
    }

    /// <summary>The message of fill event <paramref name="i"/> of round <paramref name="round"/>, its length checkable when read back.</summary>
    public static string FillMessage(int round, int i, int length = 1024) => $"fill-{round}-{i}-".PadRight(length, 'x');

    /// <summary>Open file descriptors of this process (Linux).</summary>
    public static int OpenFileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static RecordedEvent FillEvent(int round, int i) => TestEvents.Create(FillMessage(round, i));

    private static async Task<int> CountFailuresAsync(List<Task> appends, SortedSet<string> codes)
    {
        var failed = 0;
        foreach (var append in appends)
        {
            try
            {
                await append;
            }
            catch (SqliteStoreException ex)
            {
                failed++;
                codes.Add(string.Create(CultureInfo.InvariantCulture, $"{ex.SqliteErrorCode}"));
            }
        }

        return failed;
    }

    private static SqliteEventStore Open(string file, SqliteSynchronousMode synchronous = SqliteSynchronousMode.Full) =>
        new(new SqliteStoreOptions { ConnectionString = $"Data Source={file}", Synchronous = synchronous });

    private static string[] Command(params string[] args) => ["exec", typeof(ChildProcess).Assembly.Location, .. args];

    private static Process Start(IEnumerable<string> args, bool redirectInput)
    {
        var start = new ProcessStartInfo(Dotnet());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Start(start, redirectInput);
    }

    private static Process Start(ProcessStartInfo start, bool redirectInput)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = redirectInput;
        start.UseShellExecute = false;
        return Process.Start(start) ?? throw new InvalidOperationException("Could not start the child process.");
    }

    private static string Dotnet() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
