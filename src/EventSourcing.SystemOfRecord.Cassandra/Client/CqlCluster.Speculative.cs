using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlCluster
{
    /// <summary>The delay after which a statement is also sent to the next node: idempotent reads only, when configured.</summary>
    private TimeSpan? SpeculationDelay(CqlStatement statement) =>
        _settings.SpeculativeExecutionDelay is { } delay && statement.IsIdempotent
        && statement.Cql.AsSpan().TrimStart().StartsWith("SELECT", StringComparison.OrdinalIgnoreCase)
            ? delay
            : null;

    /// <summary>
    /// Runs on the first node of the plan; when it has not answered after <paramref name="delay"/>, runs on the next
    /// node too (the same plan, so never the same node). The first success wins and the other is cancelled; when both
    /// fail, the first's error is thrown.
    /// </summary>
    private async Task<ResultResponse> RunSpeculativelyAsync(
        Func<CqlConnection, CancellationToken, Task<ResultResponse>> run, CqlQueryPlan plan, CqlAttempts attempts, TimeSpan delay, CancellationToken cancellationToken)
    {
        using var executions = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var first = RunOnFirstReachableAsync(run, plan, attempts, executions.Token);
        var timer = Task.Delay(delay, _settings.TimeProvider, executions.Token);
        if (await Task.WhenAny(first, timer).ConfigureAwait(false) == first || !plan.HasNext)
        {
            // No node left to speculate on: the first execution runs to its end (cancelling it would fail the read).
            try
            {
                return await first.ConfigureAwait(false);
            }
            finally
            {
                await executions.CancelAsync().ConfigureAwait(false);
            }
        }

        _settings.Instruments.SpeculativeExecutions.Add(1);
        Log.Speculating(_logger, delay);
        var second = RunOnFirstReachableAsync(run, plan, attempts, executions.Token);
        var winner = await Task.WhenAny(first, second).ConfigureAwait(false);
        if (!winner.IsCompletedSuccessfully)
        {
            winner = winner == first ? second : first;
            await ((Task)winner).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var loser = winner == first ? second : first;
        await executions.CancelAsync().ConfigureAwait(false);
        _ = loser.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return winner.IsCompletedSuccessfully ? winner.Result : await first.ConfigureAwait(false);
    }
}
