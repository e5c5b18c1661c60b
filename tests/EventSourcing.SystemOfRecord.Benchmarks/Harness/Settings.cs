namespace EventSourcing.SystemOfRecord.Benchmarks.Harness;

/// <summary>Sizes of one run: <c>--quick</c> (the default) scales the large scenarios down; <c>--full</c> uses the real sizes.</summary>
internal sealed record Settings(
    string Mode,
    int Appenders,
    int AppendEvents,
    int KafkaAppendEvents,
    int ReplayEvents,
    int KafkaReplayEvents,
    int IdempotentEvents,
    int WarmupEvents,
    int Rounds)
{
    public static Settings Quick { get; } = new("quick", 64, 20_000, 20_000, 200_000, 100_000, 1_000_000, 1_000, 1);

    public static Settings Full { get; } = new("full", 64, 100_000, 100_000, 1_000_000, 1_000_000, 5_000_000, 2_000, 3);

    /// <summary>Set with <c>--only NAME[,NAME]</c>: run the scenarios whose name contains one of these.</summary>
    public IReadOnlyList<string> Only { get; init; } = [];

    /// <summary>Set with <c>--no-peers</c>.</summary>
    public bool Peers { get; init; } = true;

    public bool Runs(string scenario) => Only.Count == 0 || Only.Any(o => scenario.Contains(o, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The records every contender writes: same sizes, keys and timestamps.</summary>
internal static class Workload
{
    public const string Topic = "events";

    public static readonly TimeSpan Increment = TimeSpan.FromSeconds(15);

    /// <summary>Midnight UTC of the replayed day.</summary>
    public static readonly DateTime Day = new(2026, 11, 26, 0, 0, 0, DateTimeKind.Utc);

    public static string Key(int i) => "customer-" + (i % 64).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>About 100 bytes of JSON.</summary>
    public static string Message(int i) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{{\"order\":{i},\"total\":\"{i * 7 % 1000}.00\",\"currency\":\"EUR\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}}");

    /// <summary>Event i of <paramref name="count"/> spread evenly over <see cref="Day"/>: a day of 15 s buckets.</summary>
    public static RecordedEvent DayEvent(int i, int count)
    {
        var at = Day.AddTicks(TimeSpan.TicksPerDay / count * i);
        var id = TimeUuid.Create(new DateTimeOffset(at));
        var bucket = new DateTime(at.Ticks - (at.Ticks - DateTime.UnixEpoch.Ticks) % Increment.Ticks, DateTimeKind.Utc);
        return new RecordedEvent(bucket, id, Topic, Key(i), Message(i));
    }
}

/// <summary>A scratch directory, deleted at the end.</summary>
internal sealed class Scratch : IDisposable
{
    public Scratch(string name)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sor-bench-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A publisher that only counts: the in-memory sink of the replay scenario and the no-op broker of the append scenario.</summary>
internal sealed class CountingPublisher : IEventPublisher
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _count);
        return ValueTask.CompletedTask;
    }
}
