using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace EventSourcing.SystemOfRecord.Benchmarks.Harness;

/// <summary>
/// Reads the library's own instruments on the <c>EventSourcing.SystemOfRecord</c> meter through a MeterListener,
/// between <see cref="Start"/> and <see cref="Stop"/>: <c>sor.publish.duration</c> (seconds from the store's commit to
/// the publisher's acknowledgement, per appended event) when asked for, and <c>sor.sqlite.commit.size</c> (appends per
/// SQLite transaction).
/// </summary>
internal sealed class LibraryMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private volatile bool _recording;
    private long _commits;
    private long _committedEvents;

    /// <param name="publishLagCapacity">How many publish durations to keep; 0 leaves the histogram alone.</param>
    public LibraryMetrics(int publishLagCapacity = 0)
    {
        PublishLag = new LatencyRecorder(publishLagCapacity);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "EventSourcing.SystemOfRecord"
                && (instrument.Name == "sor.sqlite.commit.size" || (instrument.Name == "sor.publish.duration" && publishLagCapacity > 0)))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
        {
            if (_recording)
            {
                PublishLag.RecordTicks((long)(seconds * Stopwatch.Frequency));
            }
        });
        _listener.SetMeasurementEventCallback<int>((_, size, _, _) =>
        {
            if (_recording)
            {
                Interlocked.Increment(ref _commits);
                Interlocked.Add(ref _committedEvents, size);
            }
        });
        _listener.Start();
    }

    /// <summary>The publish durations seen while recording.</summary>
    public LatencyRecorder PublishLag { get; }

    /// <summary>"N appends per SQLite commit on average (M commits)", or empty when no SQLite commit was seen.</summary>
    public string CommitSummary
    {
        get
        {
            var commits = Interlocked.Read(ref _commits);
            return commits == 0
                ? ""
                : string.Create(CultureInfo.InvariantCulture, $"{(double)Interlocked.Read(ref _committedEvents) / commits:F0} appends per SQLite commit on average ({commits:N0} commits)");
        }
    }

    public void Start() => _recording = true;

    public void Stop() => _recording = false;

    public void Dispose() => _listener.Dispose();
}
