using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>What a topic's logs hold, split the way a <c>read_committed</c> consumer of a real broker splits them.</summary>
/// <param name="Committed">Non-transactional records and records of committed transactions, in partition and offset order: what a <c>read_committed</c> consumer reads.</param>
/// <param name="Aborted">Records of transactions their producer aborted.</param>
/// <param name="Open">Records of transactions that never ended (their producer was killed or fenced mid-transaction).</param>
internal sealed record CommittedLog(List<StoredRecord> Committed, int Aborted, int Open)
{
    /// <summary>Every data record in the logs.</summary>
    public int Total => Committed.Count + Aborted + Open;
}

/// <summary>
/// Reads a topic's record batches over the Kafka wire protocol (Fetch v4, one batch per round trip) and applies Kafka's
/// <c>read_committed</c> rule itself: a transactional record counts once its producer wrote a COMMIT marker in the
/// partition, never after an ABORT marker.
/// </summary>
/// <remarks>
/// librdkafka's mock cluster keeps transactions and writes their markers, but it does not do the rest of a broker's
/// part: its Fetch answers list no aborted transactions and report the log end as the last stable offset (so a
/// <c>read_committed</c> consumer reads aborted records too), and its InitProducerId issues a new producer id without
/// fencing or aborting the transaction the previous holder of the transactional id left open. This reader stands in for
/// the consumer side: a transaction that never ended counts as aborted, which is what a broker makes of it once the next
/// producer with the same transactional id starts (or the transaction times out).
/// </remarks>
internal static class CommittedLogReader
{
    private const short FetchApiKey = 1;
    private const short FetchVersion = 4;
    private const int MaxBytes = 64 << 20;

    public static CommittedLog Read(string bootstrapServers, string topic)
    {
        var leaders = Leaders(bootstrapServers, topic);
        var committed = new List<StoredRecord>();
        int aborted = 0, open = 0;
        foreach (var (partition, leader) in leaders.OrderBy(l => l.Key))
        {
            var log = ReadLog(leader, topic, partition);
            committed.AddRange(log.Committed);
            aborted += log.Aborted;
            open += log.Open;
        }

        return new CommittedLog(committed, aborted, open);
    }

    /// <summary>One partition, split by Kafka's <c>read_committed</c> rule.</summary>
    public static CommittedLog ReadPartition(string bootstrapServers, string topic, int partition) =>
        ReadLog(Leaders(bootstrapServers, topic)[partition], topic, partition);

    private static Dictionary<int, string> Leaders(string bootstrapServers, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var brokers = metadata.Brokers.ToDictionary(b => b.BrokerId, b => $"{b.Host}:{b.Port}");
        var found = metadata.Topics.Single(t => t.Topic == topic);
        if (found.Error.IsError)
        {
            throw new InvalidOperationException($"Topic {topic}: {found.Error}.");
        }

        return found.Partitions.ToDictionary(p => p.PartitionId, p => brokers[p.Leader]);
    }

    private static CommittedLog ReadLog(string leader, string topic, int partition)
    {
        var (host, port) = (leader[..leader.LastIndexOf(':')], int.Parse(leader[(leader.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        using var client = new TcpClient(host, port) { NoDelay = true };
        using var stream = client.GetStream();
        stream.ReadTimeout = stream.WriteTimeout = 10_000;

        var committed = new List<StoredRecord>();
        var pending = new Dictionary<long, List<StoredRecord>>();
        var aborted = 0;
        long offset = 0, end = long.MaxValue;
        for (var correlation = 1; offset < end; correlation++)
        {
            var (highWatermark, records) = Fetch(stream, correlation, topic, partition, offset);
            end = highWatermark;
            if (records.Length == 0)
            {
                if (offset < end)
                {
                    throw new InvalidOperationException($"{topic} [{partition}]: no batch at offset {offset} below the high watermark {end}.");
                }

                break;
            }

            foreach (var batch in Batches(records, partition))
            {
                if (batch.LastOffset < offset)
                {
                    continue;
                }

                offset = batch.LastOffset + 1;
                if (batch.Control is { } commit)
                {
                    if (pending.Remove(batch.ProducerId, out var ended))
                    {
                        if (commit)
                        {
                            committed.AddRange(ended);
                        }
                        else
                        {
                            aborted += ended.Count;
                        }
                    }
                }
                else if (batch.Transactional)
                {
                    if (!pending.TryGetValue(batch.ProducerId, out var open))
                    {
                        pending[batch.ProducerId] = open = [];
                    }

                    open.AddRange(batch.Records);
                }
                else
                {
                    committed.AddRange(batch.Records);
                }
            }
        }

        return new CommittedLog([.. committed.OrderBy(r => r.Offset)], aborted, pending.Values.Sum(p => p.Count));
    }

    private static (long HighWatermark, byte[] Records) Fetch(NetworkStream stream, int correlation, string topic, int partition, long offset)
    {
        var topicBytes = Encoding.UTF8.GetBytes(topic);
        var clientId = "committed-log-reader"u8;
        var body = new List<byte>(64 + topicBytes.Length);
        void Int16(short v) => body.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(v)));
        void Int32(int v) => body.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(v)));
        void Int64(long v) => body.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(v)));

        // Request header v1, then Fetch v4: replica -1, max wait 0, min bytes 0, max bytes, read_uncommitted (every batch), one partition.
        Int16(FetchApiKey);
        Int16(FetchVersion);
        Int32(correlation);
        Int16((short)clientId.Length);
        body.AddRange(clientId.ToArray());
        Int32(-1);
        Int32(0);
        Int32(0);
        Int32(MaxBytes);
        body.Add(0);
        Int32(1);
        Int16((short)topicBytes.Length);
        body.AddRange(topicBytes);
        Int32(1);
        Int32(partition);
        Int64(offset);
        Int32(MaxBytes);

        var request = new byte[4 + body.Count];
        BinaryPrimitives.WriteInt32BigEndian(request, body.Count);
        body.CopyTo(request, 4);
        stream.Write(request);

        var sizeBytes = new byte[4];
        stream.ReadExactly(sizeBytes);
        var response = new byte[BinaryPrimitives.ReadInt32BigEndian(sizeBytes)];
        stream.ReadExactly(response);

        var reader = new Reader(response);
        if (reader.Int32() != correlation)
        {
            throw new InvalidOperationException("The broker answered another request.");
        }

        reader.Int32(); // throttle time
        if (reader.Int32() != 1)
        {
            throw new InvalidOperationException("Expected one topic in the Fetch response.");
        }

        reader.Skip(reader.Int16()); // topic
        if (reader.Int32() != 1 || reader.Int32() != partition)
        {
            throw new InvalidOperationException("Expected the one partition asked for in the Fetch response.");
        }

        var error = reader.Int16();
        if (error != 0)
        {
            throw new InvalidOperationException($"Fetch of {topic} [{partition}] at {offset} failed with Kafka error {error}.");
        }

        var highWatermark = reader.Int64();
        reader.Int64(); // last stable offset
        var abortedCount = reader.Int32();
        reader.Skip(Math.Max(0, abortedCount) * 16);
        var length = reader.Int32();
        return (highWatermark, length <= 0 ? [] : reader.Bytes(length));
    }

    private sealed record Batch(long LastOffset, long ProducerId, bool Transactional, bool? Control, List<StoredRecord> Records);

    /// <summary>The record batches (format v2, uncompressed) in a Fetch response's records; a partial batch at the end is left out.</summary>
    private static IEnumerable<Batch> Batches(byte[] records, int partition)
    {
        var reader = new Reader(records);
        while (reader.Left >= 61)
        {
            var baseOffset = reader.Int64();
            var length = reader.Int32();
            if (length > reader.Left)
            {
                yield break;
            }

            var batch = new Reader(reader.Bytes(length));
            batch.Int32(); // partition leader epoch
            if (batch.Int8() != 2)
            {
                throw new InvalidOperationException("Only record batch format v2 is read.");
            }

            batch.Int32(); // crc
            var attributes = batch.Int16();
            if ((attributes & 0x07) != 0)
            {
                throw new InvalidOperationException("Compressed batches are not read; the tests produce uncompressed records.");
            }

            var lastOffset = baseOffset + batch.Int32();
            batch.Int64(); // first timestamp
            batch.Int64(); // max timestamp
            var producerId = batch.Int64();
            batch.Int16(); // producer epoch
            batch.Int32(); // base sequence
            var count = batch.Int32();
            var transactional = (attributes & 0x10) != 0;
            var control = (attributes & 0x20) != 0;
            var parsed = new List<StoredRecord>(count);
            bool? commit = null;
            for (var i = 0; i < count; i++)
            {
                batch.VarLong(); // record length
                batch.Int8(); // attributes
                batch.VarLong(); // timestamp delta
                var offsetDelta = batch.VarLong();
                var key = batch.VarBytes();
                var value = batch.VarBytes();
                var headers = new List<KeyValuePair<string, string>>();
                for (var h = batch.VarLong(); h > 0; h--)
                {
                    var name = Encoding.UTF8.GetString(batch.VarBytes()!);
                    headers.Add(KeyValuePair.Create(name, Encoding.UTF8.GetString(batch.VarBytes() ?? [])));
                }

                if (control)
                {
                    commit = BinaryPrimitives.ReadInt16BigEndian(key.AsSpan(2)) == 1; // control key: version, then 0 = ABORT, 1 = COMMIT
                }
                else
                {
                    parsed.Add(new StoredRecord(partition, baseOffset + offsetDelta, key is null ? null : Encoding.UTF8.GetString(key), Encoding.UTF8.GetString(value ?? []), headers));
                }
            }

            yield return new Batch(lastOffset, producerId, transactional, control ? commit : null, parsed);
        }
    }

    /// <summary>Big-endian reads and Kafka's zig-zag varints over a buffer, bounds checked.</summary>
    private sealed class Reader(byte[] buffer)
    {
        private int _position;

        public int Left => buffer.Length - _position;

        public sbyte Int8() => (sbyte)Take(1)[0];

        public short Int16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

        public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

        public byte[] Bytes(int count) => Take(count).ToArray();

        public void Skip(int count) => Take(count);

        public long VarLong()
        {
            ulong raw = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = Take(1)[0];
                raw |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return (long)(raw >> 1) ^ -(long)(raw & 1);
                }
            }

            throw new InvalidOperationException("A varint runs past 10 bytes.");
        }

        public byte[]? VarBytes()
        {
            var length = VarLong();
            return length < 0 ? null : Bytes(checked((int)length));
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > Left)
            {
                throw new InvalidOperationException($"Wanted {count} bytes, {Left} left.");
            }

            var span = buffer.AsSpan(_position, count);
            _position += count;
            return span;
        }
    }
}
