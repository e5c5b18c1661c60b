using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord.Sqlite.Internal;

/// <summary>The SQLite store's instruments, on the family's one meter (<c>EventSourcing.SystemOfRecord</c>).</summary>
internal sealed class SqliteInstruments(Meter meter)
{
    public Histogram<int> CommitSize { get; } =
        meter.CreateHistogram<int>("sor.sqlite.commit.size", "{event}", "Appends written by one SQLite transaction (group commit).");

    /// <summary>The instruments on the container's meter (<paramref name="meterFactory"/>), or on the process-wide one.</summary>
    public static SqliteInstruments For(IMeterFactory? meterFactory) => SystemOfRecordMetrics.For(meterFactory).Instruments(static m => new SqliteInstruments(m));
}
