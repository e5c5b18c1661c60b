using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventSourcing.SystemOfRecord.Cli.CommandLine;

namespace EventSourcing.SystemOfRecord.Cli.Stats;

/// <summary>The statistics as one JSON object (times ISO 8601 UTC, durations in seconds).</summary>
internal static class StatsJson
{
    public static string Format(RangeStatistics stats, string store)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("store", store);
            json.WriteString("from", TimeText.Format(stats.FirstBucket));
            json.WriteString("to", TimeText.Format(stats.End));
            json.WriteNumber("incrementSeconds", stats.Increment.TotalSeconds);
            json.WriteNumber("buckets", stats.BucketsInRange);
            json.WriteNumber("bucketsWithEvents", stats.BucketsWithEvents);
            json.WriteNumber("events", stats.Events);
            WriteEvent(json, "firstEvent", stats.FirstEvent);
            WriteEvent(json, "lastEvent", stats.LastEvent);

            json.WriteStartArray("topics");
            foreach (var (topic, events) in stats.Topics)
            {
                json.WriteStartObject();
                json.WriteString("topic", topic);
                json.WriteNumber("events", events);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNumber("otherTopicsEvents", stats.OtherTopicsEvents);
            WriteBuckets(json, "largestBuckets", stats.Largest);
            json.WriteNumber("bucketGuidance", RangeStatistics.BucketGuidance);
            json.WriteNumber("bucketsOverGuidance", stats.BucketsOverGuidance);
            WriteBuckets(json, "overGuidance", stats.OverGuidance);

            json.WriteStartObject("chart");
            json.WriteNumber("barSeconds", stats.Scale.Width.TotalSeconds);
            json.WriteStartArray("bars");
            for (var i = 0; i < stats.Scale.Bars; i++)
            {
                json.WriteStartObject();
                json.WriteString("start", TimeText.Format(stats.Scale.BarStart(i)));
                json.WriteNumber("events", stats.EventsPerBar[i]);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteEvent(Utf8JsonWriter json, string name, RecordedEvent? recorded)
    {
        if (recorded is null)
        {
            json.WriteNull(name);
            return;
        }

        json.WriteStartObject(name);
        json.WriteString("eventId", recorded.EventId.ToString());
        json.WriteString("timestamp", TimeText.Format(recorded.Timestamp));
        json.WriteString("timeBucket", TimeText.Format(recorded.TimeBucket));
        json.WriteString("topic", recorded.Topic);
        json.WriteEndObject();
    }

    private static void WriteBuckets(Utf8JsonWriter json, string name, IEnumerable<(DateTime Bucket, long Events)> buckets)
    {
        json.WriteStartArray(name);
        foreach (var (bucket, events) in buckets)
        {
            json.WriteStartObject();
            json.WriteString("bucket", TimeText.Format(bucket));
            json.WriteNumber("events", events);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
