using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Benchmarks.Micro;

/// <summary>
/// BenchmarkDotNet micro-benchmarks of the per-event hot paths, with the memory diagnoser:
/// <c>dotnet run -c Release --project tests/EventSourcing.SystemOfRecord.Benchmarks -- --micro [--quick] [BenchmarkDotNet arguments]</c>.
/// </summary>
public static class MicroBenchmarks
{
    public static void Run(string[] args, string artifacts)
    {
        var quick = args.Contains("--quick");
        var rest = args.Where(a => a is not "--quick" and not "--full").ToArray();
        var job = (quick ? Job.ShortRun : Job.Default).WithToolchain(InProcessEmitToolchain.Instance);
        var config = DefaultConfig.Instance
            .AddJob(job)
            .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
            .WithOptions(ConfigOptions.DisableOptimizationsValidator)
            .WithArtifactsPath(artifacts);
        BenchmarkSwitcher.FromTypes([typeof(TimeUuidBenchmarks), typeof(BucketBenchmarks), typeof(RecordedEventBenchmarks), typeof(IdempotencyBenchmarks)])
            .Run(rest.Length == 0 ? ["--filter", "*"] : rest, config);
    }
}

[MemoryDiagnoser]
public class TimeUuidBenchmarks
{
    private readonly TimeUuid _id = TimeUuid.Create();
    private readonly string _text = TimeUuid.Create().ToString();
    private readonly byte[] _bytes = new byte[16];
    private readonly DateTimeOffset _at = DateTimeOffset.UtcNow;

    [Benchmark]
    public TimeUuid Create() => TimeUuid.Create();

    [Benchmark]
    public TimeUuid CreateAt() => TimeUuid.Create(_at);

    [Benchmark]
    public TimeUuid Parse() => TimeUuid.Parse(_text);

    [Benchmark]
    public string FormatToString() => _id.ToString();

    [Benchmark]
    public bool TryWriteBytes() => _id.TryWriteBytes(_bytes);

    [Benchmark]
    public DateTimeOffset GetTimestamp() => _id.GetTimestamp();
}

[MemoryDiagnoser]
public class BucketBenchmarks
{
    private readonly SystemOfRecord _system = new(new InMemoryEventStore(), new InMemoryEventPublisher(), Options.Create(new SystemOfRecordOptions()));
    private readonly DateTime _utc = DateTime.UtcNow;
    private readonly DateTimeOffset _offset = DateTimeOffset.UtcNow;

    [Benchmark]
    public DateTime GetBucket() => _system.GetBucket(_utc);

    [Benchmark]
    public DateTime GetBucketOffset() => _system.GetBucket(_offset);
}

[MemoryDiagnoser]
public class RecordedEventBenchmarks
{
    private readonly TimeUuid _id = TimeUuid.Create();
    private readonly DateTime _bucket = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    [Benchmark]
    public RecordedEvent Create() => new(_bucket, _id, "events", "customer-1", "{\"order\":1}");

    [Benchmark]
    public DateTime Timestamp() => new RecordedEvent(_bucket, _id, "events", null, "{}").Timestamp;
}

[MemoryDiagnoser]
public class IdempotencyBenchmarks
{
    private readonly DateTime _bucket = DateTime.UtcNow;
    private IdempotentEventHandler _handler = null!;
    private RecordedEvent[] _events = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _handler = new IdempotentEventHandler(static (_, _) => ValueTask.CompletedTask, new InMemoryProcessedEventLog(capacity: 50_000_000));
        _events = Enumerable.Range(0, 1 << 20).Select(_ => new RecordedEvent(_bucket, TimeUuid.Create(), "events", null, "{}")).ToArray();
    }

    /// <summary>A new event: check the log, apply, mark (ids wrap after 2^20, then they are duplicates).</summary>
    [Benchmark]
    public ValueTask HandleNew() => _handler.HandleAsync(_events[_next++ & ((1 << 20) - 1)], CancellationToken.None);
}
