using System.Collections.Concurrent;
using System.Diagnostics;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>Records every activity of the library's source (and the tests' own) that stops, sampling them all.</summary>
internal sealed class ActivityCollector : IDisposable
{
    public static readonly ActivitySource TestSource = new("EventSourcing.SystemOfRecord.Kafka.Tests");

    private readonly ActivityListener _listener;

    public ActivityCollector()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "EventSourcing.SystemOfRecord" or "EventSourcing.SystemOfRecord.Kafka.Tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public ConcurrentQueue<Activity> Stopped { get; } = new();

    /// <summary>The stopped spans of one kind on one topic (their names end with it).</summary>
    public List<Activity> Spans(ActivityKind kind, string topic) =>
        [.. Stopped.Where(a => a.Kind == kind && a.OperationName.EndsWith(" " + topic, StringComparison.Ordinal))];

    public void Dispose() => _listener.Dispose();
}
