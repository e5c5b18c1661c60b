using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>The last cursor record an instance committed: the cursor, and the id of the transaction that wrote it.</summary>
internal sealed record CommittedCursor(string Cursor, string? Transaction);

/// <summary>Reads the last cursor one instance committed to a partition of the cursor topic.</summary>
internal interface IPublishCursorReader
{
    /// <summary>Reads the partition to its end, as a <c>read_committed</c> consumer sees it.</summary>
    /// <exception cref="KafkaTransactionException">The partition could not be read to its end within <paramref name="timeout"/>.</exception>
    CommittedCursor? ReadLast(string topic, int partition, string instanceName, TimeSpan timeout);
}

/// <summary>
/// The compacted topic that keeps each instance's publish cursor (key: the instance name, value: the cursor, header
/// <see cref="TransactionHeader"/>: the transaction that wrote it). Exactly-once transactions write a cursor record
/// with their events; a start reads the instance's last committed one back.
/// </summary>
internal sealed partial class PublishCursorTopic(KafkaPublisherOptions settings, IPublishCursorReader reader, ILogger logger)
{
    /// <summary>The header that names the transaction a cursor record belongs to.</summary>
    public const string TransactionHeader = "sor-transaction";

    private readonly Dictionary<string, string> _clientSettings = settings.ToClientSettings();

    public string Name { get; } = settings.CursorTopic;

    /// <summary>The partition of <paramref name="instanceName"/>'s cursor records: a stable hash of the name (FNV-1a), so every start finds them.</summary>
    public static int PartitionOf(string instanceName, int partitions)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(instanceName))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % (uint)partitions);
    }

    /// <summary>The cursor record of one transaction.</summary>
    public static Message<byte[]?, byte[]> Record(string instanceName, string cursor, Guid transaction) => new()
    {
        Key = Encoding.UTF8.GetBytes(instanceName),
        Value = Encoding.UTF8.GetBytes(cursor),
        Headers = [new Header(TransactionHeader, Encoding.ASCII.GetBytes(transaction.ToString("N")))],
    };

    /// <summary>Creates the topic (one partition, compacted) when it does not exist; returns its partition count.</summary>
    /// <exception cref="KafkaTransactionException">The topic is missing and could not be created, or the brokers did not answer in time.</exception>
    public int Ensure(TimeSpan timeout)
    {
        using var admin = new AdminClientBuilder(_clientSettings)
            .SetLogHandler((_, message) => KafkaLog.Write(logger, message))
            .Build();
        if (Partitions(admin, timeout) is { } existing)
        {
            return existing;
        }

        var topic = new TopicSpecification
        {
            Name = Name,
            NumPartitions = 1,
            Configs = new Dictionary<string, string> { ["cleanup.policy"] = "compact" },
        };
        try
        {
            admin.CreateTopicsAsync([topic], new CreateTopicsOptions { RequestTimeout = timeout }).GetAwaiter().GetResult();
            Log.CursorTopicCreated(logger, Name);
        }
        catch (CreateTopicsException ex) when (ex.Results.TrueForAll(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
        {
            // Another instance created it first.
        }
        catch (CreateTopicsException ex)
        {
            throw CannotCreate(ex.Results.Find(r => r.Error.IsError)?.Error ?? ex.Error, ex);
        }
        catch (KafkaException ex)
        {
            throw CannotCreate(ex.Error, ex);
        }

        return Partitions(admin, timeout) ?? throw new KafkaTransactionException(
            $"The cursor topic '{Name}' was created but its metadata did not show it within {timeout}.", ErrorCode.UnknownTopicOrPart, isTransient: true);
    }

    /// <inheritdoc cref="IPublishCursorReader.ReadLast"/>
    public CommittedCursor? ReadLast(int partition, string instanceName, TimeSpan timeout) => reader.ReadLast(Name, partition, instanceName, timeout);

    private int? Partitions(IAdminClient admin, TimeSpan timeout)
    {
        Metadata metadata;
        try
        {
            metadata = admin.GetMetadata(Name, timeout);
        }
        catch (KafkaException ex)
        {
            throw new KafkaTransactionException(
                $"The brokers did not answer a metadata request for the cursor topic '{Name}': {ex.Error.Code} ({ex.Error.Reason}).", ex.Error.Code, isTransient: true, ex);
        }

        var found = metadata.Topics.Find(t => t.Topic == Name);
        return found is { Error.IsError: false, Partitions.Count: > 0 } ? found.Partitions.Count : null;
    }

    private KafkaTransactionException CannotCreate(Error error, Exception cause) => new(
        $"The cursor topic '{Name}' does not exist and could not be created: {error.Code} ({error.Reason}). Create it "
        + "(cleanup.policy=compact; one partition is enough) or let this client create topics.",
        error.Code,
        isTransient: error.Code is ErrorCode.Local_TimedOut or ErrorCode.RequestTimedOut or ErrorCode.Local_Transport or ErrorCode.Local_AllBrokersDown
            or ErrorCode.NotController or ErrorCode.BrokerNotAvailable or ErrorCode.LeaderNotAvailable,
        cause);

    private static partial class Log
    {
        [LoggerMessage(3310, LogLevel.Information, "Created the publish cursor topic {Topic} (compacted, one partition).")]
        public static partial void CursorTopicCreated(ILogger logger, string topic);
    }
}

/// <summary>Reads the cursor topic with a <c>read_committed</c> consumer: records of aborted or open transactions stay hidden.</summary>
internal sealed class CommittedCursorReader(KafkaPublisherOptions settings, ILogger logger) : IPublishCursorReader
{
    private readonly Dictionary<string, string> _clientSettings = settings.ToClientSettings();

    public CommittedCursor? ReadLast(string topic, int partition, string instanceName, TimeSpan timeout)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(_clientSettings, StringComparer.Ordinal))
        {
            GroupId = "system-of-record.cursor-reader", // required by the client; nothing joins it or commits to it (assign, no commits)
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetLogHandler((_, message) => KafkaLog.Write(logger, message))
            .Build();
        var started = Stopwatch.GetTimestamp();

        // The log's start first: it tells an empty partition at once, and an explicit offset spares the consumer a
        // separate offset lookup once it knows the partition's leader (librdkafka retries that lookup only every 500 ms).
        WatermarkOffsets marks;
        try
        {
            marks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), timeout);
        }
        catch (KafkaException ex)
        {
            throw new KafkaTransactionException(
                $"Could not look up the cursor topic '{topic}' [{partition}]: {ex.Error.Code} ({ex.Error.Reason}).", ex.Error.Code, isTransient: true, ex);
        }

        if (marks.High.Value <= marks.Low.Value)
        {
            return null;
        }

        consumer.Assign(new TopicPartitionOffset(topic, partition, marks.Low));
        var key = Encoding.UTF8.GetBytes(instanceName);
        CommittedCursor? last = null;
        Error? lastError = null;
        while (Stopwatch.GetElapsedTime(started) is var elapsed && elapsed < timeout)
        {
            ConsumeResult<byte[]?, byte[]?>? result;
            try
            {
                result = consumer.Consume(timeout - elapsed);
            }
            catch (ConsumeException ex) when (!ex.Error.IsFatal)
            {
                lastError = ex.Error; // the partition's leader moving, say: the consumer tries again
                continue;
            }

            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                return last;
            }

            if (result.Message.Key is { } recordKey && recordKey.AsSpan().SequenceEqual(key) && result.Message.Value is { } value)
            {
                var transaction = result.Message.Headers?.TryGetLastBytes(PublishCursorTopic.TransactionHeader, out var id) == true ? Encoding.ASCII.GetString(id) : null;
                last = new CommittedCursor(Encoding.UTF8.GetString(value), transaction);
            }
        }

        throw new KafkaTransactionException(
            $"Could not read the cursor topic '{topic}' [{partition}] to its end within {timeout}"
            + (lastError is null ? "." : $": {lastError.Code} ({lastError.Reason})."),
            lastError?.Code ?? ErrorCode.Local_TimedOut,
            isTransient: true);
    }
}
