// Quick start: record events durably in SQLite, lose a downstream's data, replay it whole from the system of record.
using System.Diagnostics;
using System.Text.Json;
using EventSourcing.SystemOfRecord;
using Microsoft.Extensions.DependencyInjection;

var database = Path.Combine(SampleDirectory(), "data", "events.db");
Directory.CreateDirectory(Path.GetDirectoryName(database)!);
foreach (var file in new[] { database, database + "-wal", database + "-shm" })
{
    File.Delete(file); // a fresh demo each run
}

// A clock that moves 250 ms per event, so a few hundred events spread over several 15-second buckets.
var clock = new SteppingClock(DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(250));

var services = new ServiceCollection();
services.AddSingleton<TimeProvider>(clock);
services.AddSystemOfRecord(o => o.BucketIncrement = TimeSpan.FromSeconds(15))
        .UseSqlite($"Data Source={database}");
await using var provider = services.BuildServiceProvider();

var sor = provider.GetRequiredService<SystemOfRecord>();
var downstream = new OrderTotals();
using var subscription = provider.GetRequiredService<InMemoryEventPublisher>()
    .Subscribe((e, _) => { downstream.Apply(e); return ValueTask.CompletedTask; });

// 1. Append: each event is on disk (synchronous=FULL) before the subscriber sees it.
const int count = 300;
RecordedEvent first = null!, last = null!;
for (var i = 0; i < count; i++)
{
    var order = JsonSerializer.Serialize(new { order = i, amount = 10 + (i % 7) });
    last = await sor.AppendAsync(order, key: $"customer-{i % 5}");
    first ??= last;
}

var buckets = (int)((last.TimeBucket - first.TimeBucket) / sor.BucketIncrement) + 1;
Console.WriteLine($"Appended {count} events to {Path.GetFileName(database)} across {buckets} buckets of {sor.BucketIncrement.TotalSeconds:0} s.");
Console.WriteLine($"Downstream saw {downstream.Orders} orders, total {downstream.Total}.");
var expectedTotal = downstream.Total;

// 2. The downstream loses its data (a bad deploy, a wiped cache, a broker that dropped acknowledged messages).
downstream.Wipe();
Console.WriteLine($"Downstream lost its data: {downstream.Orders} orders, total {downstream.Total}.");

// 3. Replay the date range bucket by bucket, straight from the system of record (end exclusive).
var stopwatch = Stopwatch.StartNew();
var done = 0;
await sor.ReplayDateRangeAsync(first.Timestamp, last.Timestamp.AddTicks(1), async (bucket, ct) =>
{
    var inBucket = 0;
    await foreach (var e in sor.ReadBucketAsync(bucket, ct))
    {
        downstream.Apply(e);
        inBucket++;
    }

    done++;
    Console.Write($"\rReplaying: bucket {done}/{buckets} ({bucket:HH:mm:ss}Z, {inBucket} events), {downstream.Orders} orders so far   ");
});
Console.WriteLine();

// 4. Whole again.
var whole = downstream.Orders == count && downstream.Total == expectedTotal;
Console.WriteLine($"Downstream is whole again: {downstream.Orders} orders, total {downstream.Total} ({(whole ? "matches" : "DOES NOT match")} what it had).");
Console.WriteLine();
Console.WriteLine("Summary");
Console.WriteLine($"  store        {database} ({new FileInfo(database).Length / 1024} KiB + WAL)");
Console.WriteLine($"  events       {count} in {buckets} buckets");
Console.WriteLine($"  replay       {buckets} buckets in {stopwatch.Elapsed.TotalMilliseconds:0} ms");
Console.WriteLine($"  downstream   applies by event id, so replaying over data it already has changes nothing");
return whole ? 0 : 1;

static string SampleDirectory()
{
    // The project folder when run with `dotnet run --project samples/QuickStart`; the output folder otherwise.
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "QuickStart.csproj")))
        {
            return dir.FullName;
        }
    }

    return AppContext.BaseDirectory;
}

/// <summary>A downstream read model: order totals, applied by event id so a replay never counts an order twice.</summary>
internal sealed class OrderTotals
{
    private readonly Dictionary<TimeUuid, int> _amounts = [];

    public int Orders => _amounts.Count;

    public int Total => _amounts.Values.Sum();

    public void Apply(RecordedEvent e) =>
        _amounts[e.EventId] = JsonDocument.Parse(e.Message).RootElement.GetProperty("amount").GetInt32();

    public void Wipe() => _amounts.Clear();
}

/// <summary>A clock that moves on by a fixed step each time it is read.</summary>
internal sealed class SteppingClock(DateTimeOffset start, TimeSpan step) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Add(ref _ticks, step.Ticks) - step.Ticks, TimeSpan.Zero);
}
