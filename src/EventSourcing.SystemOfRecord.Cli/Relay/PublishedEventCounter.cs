using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord.Cli.Relay;

/// <summary>
/// Counts the events the publish pipelines of this process have published since it was created, from the library's
/// own counter <c>sor.publish.events</c>: what a takeover's progress shows. The tool runs one pipeline at a time.
/// </summary>
internal sealed class PublishedEventCounter : IDisposable
{
    private const string MeterName = "EventSourcing.SystemOfRecord";
    private const string InstrumentName = "sor.publish.events";

    private readonly MeterListener _listener = new();
    private long _count;

    public PublishedEventCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName && instrument.Name == InstrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
        _listener.Start();
    }

    public long Count => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}
