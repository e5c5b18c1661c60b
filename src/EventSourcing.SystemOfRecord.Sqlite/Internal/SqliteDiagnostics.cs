using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord.Sqlite.Internal;

/// <summary>Metrics of the SQLite store, on the meter every package of the family uses (<c>EventSourcing.SystemOfRecord</c>).</summary>
internal static class SqliteDiagnostics
{
    public static readonly Meter Meter = new("EventSourcing.SystemOfRecord");

    public static readonly Histogram<int> CommitSize =
        Meter.CreateHistogram<int>("sor.sqlite.commit.size", "{event}", "Appends written by one SQLite transaction (group commit).");
}
