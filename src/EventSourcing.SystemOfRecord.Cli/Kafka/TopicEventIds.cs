using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cli.Kafka;

/// <summary>
/// The CloudEvents ids (<c>ce_id</c>) a Kafka topic holds for the events of a bucket range, sorted by their time.
/// Read once, over every partition: each partition from the first record stamped at or after the range start less a
/// margin (offsets-for-times), to its end as it stood when the read began (or, with an end margin, to the first record
/// stamped after the range end plus that margin). Holds the ids of the range in memory, 16 bytes each.
/// </summary>
internal sealed partial class TopicEventIds
{
    private const string IdHeader = "ce_id";

    private readonly TimeUuid[] _ids;
    private readonly long _incrementTicks;

    private TopicEventIds(TimeUuid[] ids, long incrementTicks, long recordsRead, long recordsWithoutId, int partitions)
    {
        _ids = ids;
        _incrementTicks = incrementTicks;
        RecordsRead = recordsRead;
        RecordsWithoutId = recordsWithoutId;
        Partitions = partitions;
    }

    /// <summary>Records read from the topic, in the range or not.</summary>
    public long RecordsRead { get; }

    /// <summary>Records read that carry no readable <c>ce_id</c> (not published by a system of record).</summary>
    public long RecordsWithoutId { get; }

    /// <summary>Records whose id falls in the range (copies of one event included).</summary>
    public int IdsInRange => _ids.Length;

    public int Partitions { get; }

    /// <summary>The ids whose bucket is <paramref name="bucket"/>, for <see cref="SystemOfRecord.ReconcileAsync(DateTime, DateTime, Func{DateTime, CancellationToken, IAsyncEnumerable{TimeUuid}}, IProgress{ReplayProgress}?, CancellationToken)"/>.</summary>
    public IAsyncEnumerable<TimeUuid> InBucket(DateTime bucket)
    {
        var first = LowerBound(bucket.Ticks);
        return new ArraySegment<TimeUuid>(_ids, first, LowerBound(bucket.Ticks + _incrementTicks) - first).ToAsyncEnumerable();
    }

    /// <summary>
    /// Reads the ids of the buckets from <paramref name="firstBucket"/> while before <paramref name="end"/>;
    /// <paramref name="onRecords"/> is told the running count of records read, now and then.
    /// </summary>
    /// <exception cref="CliException">Kafka stopped answering (exit code 4).</exception>
    public static Task<TopicEventIds> ReadAsync(
        KafkaSettings kafka,
        string topic,
        IReadOnlyList<int> partitions,
        DateTime firstBucket,
        DateTime end,
        long incrementTicks,
        TimeSpan seekMargin,
        TimeSpan? endMargin,
        Action<long>? onRecords,
        ILogger logger,
        CancellationToken cancellationToken) =>
        Task.Run(() => Read(kafka, topic, partitions, firstBucket, end, incrementTicks, seekMargin, endMargin, onRecords, logger, cancellationToken), cancellationToken);

    private static TopicEventIds Read(
        KafkaSettings kafka,
        string topic,
        IReadOnlyList<int> partitions,
        DateTime firstBucket,
        DateTime end,
        long incrementTicks,
        TimeSpan seekMargin,
        TimeSpan? endMargin,
        Action<long>? onRecords,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(kafka.ConsumerConfig())
            .SetLogHandler((_, message) => KafkaLogging.Write(logger, message))
            .SetErrorHandler((_, error) => KafkaLogging.Write(logger, error))
            .Build();
        var timeout = kafka.ConnectTimeout;
        // Compared in ticks: the margins may reach past DateTime.MinValue or MaxValue (a range in year 1 or 9999).
        var seekTime = firstBucket.Ticks - DateTime.UnixEpoch.Ticks <= seekMargin.Ticks ? DateTime.UnixEpoch : firstBucket - seekMargin;
        var stopAfter = endMargin is { } margin ? (DateTime.MaxValue.Ticks - end.Ticks <= margin.Ticks ? DateTime.MaxValue : end + margin) : (DateTime?)null;

        List<(TopicPartition Partition, long Start, long High)> ranges;
        try
        {
            ranges = StartOffsets(consumer, topic, partitions, seekTime, timeout, logger);
        }
        catch (KafkaException ex)
        {
            throw new CliException(ExitCodes.BrokerUnavailable, $"Kafka did not tell the offsets of topic '{topic}' within {CommandLine.TimeText.Format(timeout)}: {ex.Error.Reason}", ex);
        }

        var highs = ranges.ToDictionary(r => r.Partition.Partition.Value, r => r.High);
        var assigned = ranges.Select(r => new TopicPartitionOffset(r.Partition, r.Start)).ToList();
        var ids = new List<TimeUuid>();
        long read = 0, withoutId = 0;
        if (assigned.Count > 0)
        {
            consumer.Assign(assigned);
            var open = assigned.Select(a => a.Partition.Value).ToHashSet();
            var lastAnswer = Stopwatch.StartNew();
            var stallLimit = timeout < TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : timeout;
            while (open.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is null)
                {
                    if (lastAnswer.Elapsed > stallLimit)
                    {
                        throw new CliException(
                            ExitCodes.BrokerUnavailable,
                            $"Kafka stopped answering while topic '{topic}' was read (partitions {string.Join(',', open.Order())} not read to their end).");
                    }

                    continue;
                }

                lastAnswer.Restart();
                var partition = result.Partition.Value;
                if (!open.Contains(partition))
                {
                    continue; // fetched before the partition was done
                }

                if (result.IsPartitionEOF)
                {
                    Done(consumer, open, result.TopicPartition);
                    continue;
                }

                read++;
                if (stopAfter is { } stop && result.Message.Timestamp.UtcDateTime > stop)
                {
                    Done(consumer, open, result.TopicPartition);
                    continue;
                }

                if (TryReadId(result.Message.Headers, out var id))
                {
                    var bucket = TimeBuckets.Floor(id.GetTimestamp().UtcDateTime, incrementTicks);
                    if (bucket >= firstBucket && bucket < end)
                    {
                        ids.Add(id);
                    }
                }
                else
                {
                    withoutId++;
                }

                if (read % 10_000 == 0)
                {
                    onRecords?.Invoke(read);
                }

                if (result.Offset.Value + 1 >= highs[partition])
                {
                    Done(consumer, open, result.TopicPartition);
                }
            }
        }

        onRecords?.Invoke(read);
        consumer.Close();
        var sorted = ids.ToArray();
        Array.Sort(sorted);
        return new TopicEventIds(sorted, incrementTicks, read, withoutId, partitions.Count);
    }

    /// <summary>
    /// Where each partition's read starts (the first record stamped at or after <paramref name="seekTime"/>) and its high
    /// watermark now; partitions with nothing to read are left out.
    /// </summary>
    private static List<(TopicPartition Partition, long Start, long High)> StartOffsets(
        IConsumer<Ignore, Ignore> consumer, string topic, IReadOnlyList<int> partitions, DateTime seekTime, TimeSpan timeout, ILogger logger)
    {
        var byTime = consumer.OffsetsForTimes(
            partitions.Select(p => new TopicPartitionTimestamp(topic, p, new Timestamp(seekTime, TimestampType.CreateTime))),
            timeout).ToDictionary(o => o.Partition.Value, o => o.Offset);
        var ranges = new List<(TopicPartition, long, long)>();
        var unanswered = new List<(TopicPartition Partition, WatermarkOffsets Marks)>();
        foreach (var p in partitions)
        {
            var partition = new TopicPartition(topic, p);
            var marks = consumer.QueryWatermarkOffsets(partition, timeout);
            if (marks.High.Value <= marks.Low.Value)
            {
                continue; // empty
            }

            if (byTime.TryGetValue(p, out var start) && start.Value >= 0)
            {
                if (start.Value < marks.High.Value)
                {
                    ranges.Add((partition, start.Value, marks.High.Value));
                }
            }
            else
            {
                unanswered.Add((partition, marks));
            }
        }

        if (unanswered.Count > 0)
        {
            // "No record at or after the time" (-1) is the answer for a partition whose records are all older. A broker
            // without a time index (librdkafka's mock cluster) gives it for every time; ask for the first record at or
            // after the epoch to tell the two apart, and read such a partition from its start.
            var sinceEpoch = consumer.OffsetsForTimes(
                unanswered.Select(u => new TopicPartitionTimestamp(u.Partition, new Timestamp(0, TimestampType.CreateTime))),
                timeout).ToDictionary(o => o.Partition.Value, o => o.Offset.Value);
            foreach (var (partition, marks) in unanswered)
            {
                if (!sinceEpoch.TryGetValue(partition.Partition.Value, out var first) || first < 0)
                {
                    Log.NoTimeIndex(logger, topic, partition.Partition.Value);
                    ranges.Add((partition, marks.Low.Value, marks.High.Value));
                }
            }
        }

        return ranges;
    }

    private static void Done(IConsumer<Ignore, Ignore> consumer, HashSet<int> open, TopicPartition partition)
    {
        open.Remove(partition.Partition.Value);
        consumer.Pause([partition]);
    }

    private static bool TryReadId(Headers? headers, out TimeUuid id)
    {
        id = default;
        if (headers is null || !headers.TryGetLastBytes(IdHeader, out var bytes) || bytes is null || bytes.Length > 64)
        {
            return false;
        }

        Span<char> text = stackalloc char[bytes.Length];
        return Encoding.ASCII.GetChars(bytes, text) == bytes.Length && TimeUuid.TryParse(text, out id);
    }

    private static partial class Log
    {
        [LoggerMessage(9200, LogLevel.Warning, "Kafka cannot look up offsets by time in topic {Topic} partition {Partition}; it is read from its start.")]
        public static partial void NoTimeIndex(ILogger logger, string topic, int partition);
    }

    // The first index whose id's time is at or after ticks (ids are sorted by time first).
    private int LowerBound(long ticks)
    {
        int low = 0, high = _ids.Length;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (_ids[middle].GetTimestamp().UtcTicks < ticks)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
}
