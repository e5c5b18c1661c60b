using System.Buffers;
using System.Text;
using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Kafka;

namespace EventSourcing.SystemOfRecord.Cli.Reconcile;

/// <summary>A reconciliation report as one JSON object, with every missing and unexpected id.</summary>
internal static class ReconcileJson
{
    public static string Format(ReconciliationReport report, string topic, string store, TopicEventIds ids, long? repaired)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("store", store);
            json.WriteString("topic", topic);
            json.WriteString("from", TimeText.Format(report.From));
            json.WriteString("to", TimeText.Format(report.To));
            json.WriteNumber("bucketsCompared", report.BucketsCompared);
            json.WriteNumber("storedEvents", report.StoredEvents);
            json.WriteNumber("topicEvents", report.DownstreamEvents);
            json.WriteNumber("recordsRead", ids.RecordsRead);
            json.WriteNumber("recordsWithoutEventId", ids.RecordsWithoutId);
            json.WriteNumber("missing", report.MissingCount);
            json.WriteNumber("unexpected", report.UnexpectedCount);
            json.WriteBoolean("consistent", report.IsConsistent);
            if (repaired is { } count)
            {
                json.WriteNumber("repaired", count);
            }
            else
            {
                json.WriteNull("repaired");
            }

            json.WriteStartArray("differences");
            foreach (var difference in report.Differences)
            {
                json.WriteStartObject();
                json.WriteString("bucket", TimeText.Format(difference.Bucket));
                WriteIds(json, "missing", difference.Missing);
                WriteIds(json, "unexpected", difference.Unexpected);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteIds(Utf8JsonWriter json, string name, IReadOnlyList<TimeUuid> ids)
    {
        json.WriteStartArray(name);
        foreach (var id in ids)
        {
            json.WriteStringValue(id.ToString());
        }

        json.WriteEndArray();
    }
}
