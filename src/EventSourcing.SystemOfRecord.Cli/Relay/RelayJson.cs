using System.Buffers;
using System.Text;
using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.CommandLine;

namespace EventSourcing.SystemOfRecord.Cli.Relay;

/// <summary>The JSON lines of <c>sor relay list --json</c> and <c>sor relay parked --json</c>.</summary>
internal static class RelayJson
{
    /// <summary>One instance as <c>relay list</c> shows it.</summary>
    public sealed record Instance(PublishCursorInfo Cursor, TimeSpan Lag, long Parked);

    public static string Format(Instance instance) => Write(json =>
    {
        var cursor = instance.Cursor;
        json.WriteString("instance", cursor.InstanceName);
        json.WriteString("cursor", cursor.Cursor.ToString());
        json.WriteString("cursorTime", TimeText.Format(cursor.Cursor.GetTimestamp().UtcDateTime));
        json.WriteNumber("lagSeconds", Math.Round(instance.Lag.TotalSeconds, 3));
        json.WriteString("reservedUntil", TimeText.Format(cursor.ReservedUntil.UtcDateTime));
        json.WriteBoolean("released", cursor.IsReleased);
        json.WriteNumber("sequence", cursor.Sequence);
        json.WriteNumber("parked", instance.Parked);
    });

    public static string Format(ParkedEvent parked) => Write(json =>
    {
        json.WriteString("instance", parked.Instance);
        json.WriteString("eventId", parked.EventId.ToString());
        json.WriteString("bucket", TimeText.Format(parked.TimeBucket));
        json.WriteString("reason", parked.Reason);
    });

    private static string Write(Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            fields(json);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
