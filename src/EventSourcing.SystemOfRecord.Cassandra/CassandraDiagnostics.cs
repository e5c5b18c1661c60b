using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>
/// The Cassandra store's activity source, named <c>EventSourcing.SystemOfRecord</c> like the core's, so OpenTelemetry
/// (or dotnet-counters) picks it up with the rest.
/// </summary>
internal static class CassandraDiagnostics
{
    public static readonly ActivitySource ActivitySource = new(SystemOfRecordDiagnostics.Name);
}

/// <summary>The Cassandra store's instruments, on the family's one meter (<c>EventSourcing.SystemOfRecord</c>).</summary>
internal sealed class CassandraInstruments(Meter meter)
{
    /// <summary>The instruments on the process-wide meter: for clients built without a meter factory.</summary>
    public static CassandraInstruments Shared => For(null);

    public Counter<long> LargeBuckets { get; } =
        meter.CreateCounter<long>("sor.cassandra.large_buckets", "{bucket}", "Bucket reads that returned more events than the large bucket threshold.");

    public Counter<long> Retries { get; } =
        meter.CreateCounter<long>("sor.cassandra.retries", "{retry}", "Statements retried after a transient error.");

    public Counter<long> SpeculativeExecutions { get; } =
        meter.CreateCounter<long>("sor.cassandra.speculative_executions", "{execution}", "Reads sent to a second node because the first had not answered in time.");

    public Counter<long> IndeterminateAppends { get; } =
        meter.CreateCounter<long>("sor.cassandra.indeterminate_appends", "{event}", "Appends that failed after the write may have been applied (IndeterminateAppendException).");

    public Counter<long> NodesDown { get; } =
        meter.CreateCounter<long>("sor.cassandra.nodes_down", "{node}", "Times a Cassandra node was marked down.");

    /// <summary>The instruments on the container's meter (<paramref name="meterFactory"/>), or on the process-wide one.</summary>
    public static CassandraInstruments For(IMeterFactory? meterFactory) => SystemOfRecordMetrics.For(meterFactory).Instruments(static m => new CassandraInstruments(m));
}
