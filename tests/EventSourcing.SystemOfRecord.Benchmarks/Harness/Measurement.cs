using System.Diagnostics;

namespace EventSourcing.SystemOfRecord.Benchmarks.Harness;

/// <summary>Who a row measures: our library, the raw limit it is compared to, or a peer library.</summary>
internal enum Role
{
    Ours,
    Raw,
    Peer,
}

/// <summary>One measured contender in one scenario.</summary>
internal sealed record Result(
    string Scenario,
    string Contender,
    Role Role,
    long Events,
    TimeSpan Elapsed,
    double? P50Microseconds,
    double? P99Microseconds,
    long PeakManagedBytes,
    long PeakAboveBaselineBytes,
    double AllocatedBytesPerEvent,
    string Note = "",
    double? CpuMicrosecondsPerEvent = null)
{
    public double EventsPerSecond => Events / Elapsed.TotalSeconds;
}

/// <summary>A contender that could not be measured, and why.</summary>
internal sealed record Skipped(string Scenario, string Contender, string Reason);

/// <summary>Per-operation latencies, recorded without locks (one slot per operation) and summarized at the end.</summary>
internal sealed class LatencyRecorder(int capacity)
{
    private readonly long[] _ticks = new long[capacity];
    private int _count;

    /// <summary>How many operations were recorded (at most the capacity).</summary>
    public int Count => Math.Min(Volatile.Read(ref _count), _ticks.Length);

    public void Record(long startTimestamp)
    {
        var slot = Interlocked.Increment(ref _count) - 1;
        if (slot < _ticks.Length)
        {
            _ticks[slot] = Stopwatch.GetTimestamp() - startTimestamp;
        }
    }

    public void RecordTicks(long elapsedTimestampTicks)
    {
        var slot = Interlocked.Increment(ref _count) - 1;
        if (slot < _ticks.Length)
        {
            _ticks[slot] = elapsedTimestampTicks;
        }
    }

    public (double? P50, double? P99) Percentiles()
    {
        var n = Math.Min(_count, _ticks.Length);
        if (n == 0)
        {
            return (null, null);
        }

        var sorted = _ticks.AsSpan(0, n).ToArray();
        Array.Sort(sorted);
        double At(double q) => sorted[Math.Min(n - 1, (int)Math.Ceiling(q * n) - 1)] * 1_000_000.0 / Stopwatch.Frequency;
        return (At(0.50), At(0.99));
    }
}

/// <summary>
/// Measures one run: wall time, peak managed heap (sampled every millisecond on its own thread, and read once more at the end),
/// managed bytes allocated, and the process's CPU time (every thread: ours, librdkafka's, and the in-process mock brokers'),
/// which other work on a shared machine disturbs less than wall time. A full blocking GC before the run sets the baseline.
/// </summary>
internal sealed class RunMeter : IDisposable
{
    private readonly Thread _sampler;
    private readonly long _allocatedBefore;
    private readonly TimeSpan _cpuBefore;
    private readonly Stopwatch _watch;
    private volatile bool _stop;
    private long _peak;

    private RunMeter()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        Baseline = GC.GetTotalMemory(forceFullCollection: false);
        _peak = Baseline;
        _allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        _cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        _sampler = new Thread(Sample) { IsBackground = true, Name = "peak-memory-sampler", Priority = ThreadPriority.AboveNormal };
        _sampler.Start();
        _watch = Stopwatch.StartNew();
    }

    public long Baseline { get; }

    public static RunMeter Start() => new();

    public Result Stop(string scenario, string contender, Role role, long events, LatencyRecorder? latencies = null, string note = "")
    {
        var elapsed = _watch.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpuBefore;
        var heap = GC.GetTotalMemory(forceFullCollection: false);
        _stop = true;
        _sampler.Join();
        var peak = Math.Max(Interlocked.Read(ref _peak), heap);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocatedBefore;
        var (p50, p99) = latencies?.Percentiles() ?? (null, null);
        return new Result(scenario, contender, role, events, elapsed, p50, p99, peak, peak - Baseline, (double)allocated / Math.Max(1, events), note,
            cpu.TotalMicroseconds / Math.Max(1, events));
    }

    public void Dispose()
    {
        _stop = true;
        if (_sampler.IsAlive)
        {
            _sampler.Join();
        }
    }

    private void Sample()
    {
        while (!_stop)
        {
            var now = GC.GetTotalMemory(forceFullCollection: false);
            if (now > _peak)
            {
                Interlocked.Exchange(ref _peak, now);
            }

            Thread.Sleep(1);
        }
    }
}

internal static class Concurrently
{
    /// <summary>
    /// Runs <paramref name="total"/> operations from <paramref name="workers"/> concurrent loops (operation i goes to
    /// loop i mod workers), recording each operation's latency.
    /// </summary>
    public static async Task RunAsync(int workers, int total, Func<int, ValueTask> operation, LatencyRecorder? latencies)
    {
        var loops = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            var worker = w;
            loops[w] = Task.Run(async () =>
            {
                for (var i = worker; i < total; i += workers)
                {
                    var start = Stopwatch.GetTimestamp();
                    await operation(i).ConfigureAwait(false);
                    latencies?.Record(start);
                }
            });
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
    }
}
