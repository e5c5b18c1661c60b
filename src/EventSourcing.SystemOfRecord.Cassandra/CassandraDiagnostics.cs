using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>
/// The Cassandra store's meter and activity source, named <c>EventSourcing.SystemOfRecord</c> like the core's, so
/// OpenTelemetry (or dotnet-counters) picks them up with the rest.
/// </summary>
internal static class CassandraDiagnostics
{
    public const string Name = "EventSourcing.SystemOfRecord";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> LargeBuckets =
        Meter.CreateCounter<long>("sor.cassandra.large_buckets", "{bucket}", "Bucket reads that returned more events than the large bucket threshold.");

    public static readonly Counter<long> Retries =
        Meter.CreateCounter<long>("sor.cassandra.retries", "{retry}", "Statements retried after a transient error.");

    public static readonly Counter<long> SpeculativeExecutions =
        Meter.CreateCounter<long>("sor.cassandra.speculative_executions", "{execution}", "Reads sent to a second node because the first had not answered in time.");

    public static readonly Counter<long> IndeterminateAppends =
        Meter.CreateCounter<long>("sor.cassandra.indeterminate_appends", "{event}", "Appends that failed after the write may have been applied (IndeterminateAppendException).");

    public static readonly Counter<long> NodesDown =
        Meter.CreateCounter<long>("sor.cassandra.nodes_down", "{node}", "Times a Cassandra node was marked down.");
}
