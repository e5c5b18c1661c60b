using System.Diagnostics.CodeAnalysis;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// The nodes one request may go to, best first. Shared by the executions of one request (a speculative execution
/// takes the next node, never one already tried), so taking a node is thread-safe.
/// </summary>
internal sealed class CqlQueryPlan(IReadOnlyList<CqlHost> hosts)
{
    private int _taken;

    public IReadOnlyList<CqlHost> Hosts { get; } = hosts;

    /// <summary>Whether a node is left to try.</summary>
    public bool HasNext => Volatile.Read(ref _taken) < Hosts.Count;

    public bool TryNext([NotNullWhen(true)] out CqlHost? host)
    {
        var index = Interlocked.Increment(ref _taken) - 1;
        host = index < Hosts.Count ? Hosts[index] : null;
        return host is not null;
    }
}
