using System.Collections.Concurrent;
using System.Diagnostics;

namespace OrdersWorker;

/// <summary>Which orders were placed and handled, in which traces: what the worker prints at the end.</summary>
internal sealed class Progress(int orders)
{
    private readonly ConcurrentDictionary<string, ActivityTraceId?> _placedIn = new();
    private readonly ConcurrentDictionary<string, ConcurrentBag<ActivityTraceId?>> _handledIn = new();
    private int _handled;

    public int Orders { get; } = orders;

    /// <summary>Two events per order.</summary>
    public bool Done => Volatile.Read(ref _handled) >= Orders * 2;

    public void Placed(string orderId, ActivityTraceId? traceId) => _placedIn[orderId] = traceId;

    public void Handled(string orderId, ActivityTraceId? traceId)
    {
        _handledIn.GetOrAdd(orderId, _ => []).Add(traceId);
        Interlocked.Increment(ref _handled);
    }

    public IEnumerable<string> Summary() =>
        _placedIn.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p =>
        {
            var handled = _handledIn.TryGetValue(p.Key, out var traces) ? traces.ToList() : [];
            var sameTrace = handled.Count == 2 && handled.All(t => t == p.Value);
            return $"  {p.Key}: placed in trace {p.Value}; {handled.Count} events handled{(sameTrace ? " in the same trace" : "")}.";
        });
}
