using System.Text;
using Confluent.Kafka;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>One record as it sits on the broker.</summary>
internal sealed record StoredRecord(int Partition, long Offset, string? Key, string Value, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public string? Header(string name) => Headers.LastOrDefault(h => h.Key == name).Value;
}

/// <summary>Reads what a topic holds, over the wire, with a plain Confluent consumer assigned to every partition.</summary>
internal static class TopicReader
{
    /// <summary>Every record from each partition's log start to its high watermark, in partition and offset order.</summary>
    public static List<StoredRecord> ReadAll(string bootstrapServers, string topic, int partitions)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = true,
        };
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        var ends = new Dictionary<int, long>();
        var toRead = new List<TopicPartitionOffset>();
        for (var p = 0; p < partitions; p++)
        {
            var marks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            ends[p] = marks.High.Value;
            if (marks.High.Value > marks.Low.Value)
            {
                toRead.Add(new TopicPartitionOffset(topic, p, marks.Low));
            }
        }

        var records = new List<StoredRecord>();
        if (toRead.Count == 0)
        {
            return records;
        }

        consumer.Assign(toRead);
        var open = toRead.Select(t => t.Partition.Value).ToHashSet();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (open.Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Reading {topic} did not reach the high watermarks; still open: {string.Join(',', open)}.");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            var partition = result.Partition.Value;
            if (!result.IsPartitionEOF)
            {
                records.Add(new StoredRecord(
                    partition,
                    result.Offset.Value,
                    result.Message.Key is null ? null : Encoding.UTF8.GetString(result.Message.Key),
                    Encoding.UTF8.GetString(result.Message.Value ?? []),
                    (result.Message.Headers ?? []).Select(h => KeyValuePair.Create(h.Key, Encoding.UTF8.GetString(h.GetValueBytes() ?? []))).ToList()));
            }

            if (result.Offset.Value + 1 >= ends[partition] || result.IsPartitionEOF)
            {
                open.Remove(partition);
            }
        }

        consumer.Close();
        return [.. records.OrderBy(r => r.Partition).ThenBy(r => r.Offset)];
    }

    /// <summary>Each partition's low and high watermark.</summary>
    public static List<(long Low, long High)> Watermarks(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "marks" }).Build();
        return [.. Enumerable.Range(0, partitions).Select(p =>
        {
            var marks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            return (marks.Low.Value, marks.High.Value);
        })];
    }
}
