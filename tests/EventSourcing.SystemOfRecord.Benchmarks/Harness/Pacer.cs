using System.Diagnostics;

namespace EventSourcing.SystemOfRecord.Benchmarks.Harness;

/// <summary>
/// A token bucket shared by concurrent loops: token n is released at start + n / rate, so the loops together run at
/// most <c>perSecond</c> operations a second (a loop that fell behind catches up, so the mean rate holds).
/// </summary>
internal sealed class Pacer(double perSecond)
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private long _taken = -1;

    public ValueTask WaitAsync()
    {
        var n = Interlocked.Increment(ref _taken);
        var due = _start + (long)(n * Stopwatch.Frequency / perSecond);
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
        return wait <= TimeSpan.Zero ? ValueTask.CompletedTask : new ValueTask(Task.Delay(wait));
    }
}
