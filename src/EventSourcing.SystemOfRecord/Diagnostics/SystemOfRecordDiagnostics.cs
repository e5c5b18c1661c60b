using System.Diagnostics;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The activity source, named <c>EventSourcing.SystemOfRecord</c> like the meter (<see cref="SystemOfRecordMetrics"/>),
/// that OpenTelemetry picks up without a dependency.
/// </summary>
internal static class SystemOfRecordDiagnostics
{
    public const string Name = "EventSourcing.SystemOfRecord";

    public static readonly ActivitySource ActivitySource = new(Name);
}
