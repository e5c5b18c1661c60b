using System.Diagnostics.Metrics;

namespace EventSourcing.SystemOfRecord;

/// <summary>Instruments of reloads, reconciliations and managed replays, on the shared <c>EventSourcing.SystemOfRecord</c> meter.</summary>
internal static class ReplayDiagnostics
{
    public static readonly Counter<long> EventsReloaded =
        SystemOfRecordDiagnostics.Meter.CreateCounter<long>("sor.reload.events", "{event}", "Events applied to projections by reloads.");

    public static readonly Counter<long> MissingFound =
        SystemOfRecordDiagnostics.Meter.CreateCounter<long>("sor.reconcile.missing", "{event}", "Stored events a reconciliation found missing downstream.");

    public static readonly Counter<long> UnexpectedFound =
        SystemOfRecordDiagnostics.Meter.CreateCounter<long>("sor.reconcile.unexpected", "{event}", "Downstream ids a reconciliation found absent from the store.");

    public static readonly Counter<long> EventsReplayed =
        SystemOfRecordDiagnostics.Meter.CreateCounter<long>("sor.replay.events", "{event}", "Events delivered by managed replays.");
}
