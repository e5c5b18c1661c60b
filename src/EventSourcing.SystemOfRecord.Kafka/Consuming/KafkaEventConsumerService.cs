using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// Consumes one topic in one consumer group on a thread of its own, turns each record back into a <see cref="RecordedEvent"/>
/// and hands it to the handler. At least once: a record's offset is stored (and later committed) only after the handler
/// succeeded; stored offsets are committed when partitions are revoked and when the service stops.
/// </summary>
internal sealed partial class KafkaEventConsumerService : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly KafkaConsumerOptions _options;
    private readonly Func<RecordedEvent, CancellationToken, ValueTask> _handle;
    private readonly ILogger _logger;
    private readonly Dictionary<TopicPartition, int> _failedAttempts = [];
    private long _handled;
    private long _skipped;
    private int _assigned;

    public KafkaEventConsumerService(KafkaConsumerOptions options, Func<RecordedEvent, CancellationToken, ValueTask> handle, ILogger logger)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(KafkaConsumerOptions), errors);
        }

        _options = options;
        _handle = handle;
        _logger = logger;
    }

    /// <summary>Events the handler completed (duplicates included).</summary>
    public long HandledCount => Interlocked.Read(ref _handled);

    /// <summary>How many partitions this member owns now.</summary>
    public int AssignedPartitionCount => Volatile.Read(ref _assigned);

    /// <summary>Poison records skipped.</summary>
    public long SkippedCount => Interlocked.Read(ref _skipped);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        var topic = _options.Topic!;
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(_options.ToConsumerConfig())
            .SetLogHandler((_, message) => KafkaLog.Write(_logger, message))
            .SetErrorHandler((_, error) => KafkaLog.Error(_logger, error))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                Interlocked.Add(ref _assigned, partitions.Count);
                Log.Assigned(_logger, _options.GroupId!, FormatPartitions(partitions));
            })
            .SetPartitionsRevokedHandler(OnRevoked)
            .SetPartitionsLostHandler((_, partitions) =>
            {
                Interlocked.Add(ref _assigned, -partitions.Count);
                Log.Lost(_logger, _options.GroupId!, FormatPartitions(partitions.Select(p => p.TopicPartition)));
            })
            .Build();
        consumer.Subscribe(topic);
        Log.Started(_logger, topic, _options.GroupId!, _options.PoisonRecordPolicy);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                ConsumeResult<byte[]?, byte[]?>? result;
                try
                {
                    result = consumer.Consume(stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    Log.ConsumeFailed(_logger, ex.Error.Code, ex.Error.Reason);
                    continue;
                }

                if (result is null || result.IsPartitionEOF)
                {
                    continue;
                }

                if (!CloudEventsKafkaBinding.TryToRecordedEvent(result.Topic, result.Message, out var recordedEvent, out var problem))
                {
                    OnPoisonRecord(consumer, result, problem!);
                    continue;
                }

                if (!TryHandle(recordedEvent!, result, stoppingToken))
                {
                    if (stoppingToken.IsCancellationRequested)
                    {
                        break;
                    }

                    // Deliver the same record again: nothing after it on this partition is handled first.
                    Backoff(result.TopicPartition, stoppingToken);
                    consumer.Seek(result.TopicPartitionOffset);
                    continue;
                }

                _failedAttempts.Remove(result.TopicPartition);
                Interlocked.Increment(ref _handled);
                KafkaDiagnostics.EventsHandled.Add(1, KafkaDiagnostics.Topic(result.Topic));
                StoreOffset(consumer, result);
            }
        }
        finally
        {
            // Commits the stored offsets and leaves the group, so its partitions move to the other members at once.
            try
            {
                consumer.Close();
            }
            catch (KafkaException ex)
            {
                Log.CloseFailed(_logger, ex.Error.Code, ex.Error.Reason);
            }

            Log.Stopped(_logger, topic, _options.GroupId!, HandledCount, SkippedCount);
        }
    }

    private bool TryHandle(RecordedEvent recordedEvent, ConsumeResult<byte[]?, byte[]?> result, CancellationToken stoppingToken)
    {
        try
        {
            var pending = _handle(recordedEvent, stoppingToken);
            if (!pending.IsCompletedSuccessfully)
            {
                pending.AsTask().GetAwaiter().GetResult();
            }

            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex)
        {
            _failedAttempts.TryGetValue(result.TopicPartition, out var attempts);
            _failedAttempts[result.TopicPartition] = ++attempts;
            KafkaDiagnostics.HandlerFailures.Add(1, KafkaDiagnostics.Topic(result.Topic));
            Log.HandlerFailed(_logger, ex, recordedEvent.EventId, result.Topic, result.Partition.Value, result.Offset.Value, attempts);
            return false;
        }
    }

    private void Backoff(TopicPartition partition, CancellationToken stoppingToken)
    {
        _failedAttempts.TryGetValue(partition, out var attempts);
        var delay = FirstRetryDelay * Math.Pow(2, Math.Min(Math.Max(attempts - 1, 0), 20));
        stoppingToken.WaitHandle.WaitOne(delay < _options.MaxRetryDelay ? delay : _options.MaxRetryDelay);
    }

    private void OnPoisonRecord(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result, string problem)
    {
        KafkaDiagnostics.PoisonRecords.Add(1, KafkaDiagnostics.Topic(result.Topic));
        if (_options.PoisonRecordPolicy == PoisonRecordPolicy.Stop)
        {
            Log.PoisonStop(_logger, result.Topic, result.Partition.Value, result.Offset.Value, problem);
            throw new KafkaPoisonRecordException(result.Topic, result.Partition.Value, result.Offset.Value, problem);
        }

        Log.PoisonSkipped(_logger, result.Topic, result.Partition.Value, result.Offset.Value, problem);
        Interlocked.Increment(ref _skipped);
        StoreOffset(consumer, result);
    }

    private void StoreOffset(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result)
    {
        try
        {
            consumer.StoreOffset(result);
        }
        catch (KafkaException ex)
        {
            // The partition moved to another member meanwhile; it will see the record again (at least once).
            Log.StoreFailed(_logger, result.Topic, result.Partition.Value, result.Offset.Value, ex.Error.Code);
        }
    }

    private void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        Interlocked.Add(ref _assigned, -partitions.Count);
        Log.Revoked(_logger, _options.GroupId!, FormatPartitions(partitions.Select(p => p.TopicPartition)));
        try
        {
            consumer.Commit();
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
        {
        }
        catch (KafkaException ex)
        {
            Log.CommitFailed(_logger, ex.Error.Code, ex.Error.Reason);
        }
    }

    private static string FormatPartitions(IEnumerable<TopicPartition> partitions) =>
        string.Join(", ", partitions.Select(p => $"{p.Topic} [{p.Partition.Value}]"));

    private static partial class Log
    {
        [LoggerMessage(200, LogLevel.Information, "Kafka consumer started on topic {Topic}, group {GroupId}, poison records: {Policy}.")]
        public static partial void Started(ILogger logger, string topic, string groupId, PoisonRecordPolicy policy);

        [LoggerMessage(201, LogLevel.Information, "Kafka consumer on topic {Topic}, group {GroupId} stopped after handling {Handled} events and skipping {Skipped} poison records.")]
        public static partial void Stopped(ILogger logger, string topic, string groupId, long handled, long skipped);

        [LoggerMessage(202, LogLevel.Information, "Group {GroupId} assigned {Partitions}.")]
        public static partial void Assigned(ILogger logger, string groupId, string partitions);

        [LoggerMessage(203, LogLevel.Information, "Group {GroupId} revoked {Partitions}; committing the offsets of handled events.")]
        public static partial void Revoked(ILogger logger, string groupId, string partitions);

        [LoggerMessage(204, LogLevel.Warning, "Group {GroupId} lost {Partitions}; their unhandled records go to the next owner.")]
        public static partial void Lost(ILogger logger, string groupId, string partitions);

        [LoggerMessage(205, LogLevel.Warning, "The handler failed on event {EventId} ({Topic} [{Partition}] @{Offset}), attempt {Attempt}; it gets the event again.")]
        public static partial void HandlerFailed(ILogger logger, Exception exception, TimeUuid eventId, string topic, int partition, long offset, int attempt);

        [LoggerMessage(206, LogLevel.Error, "Skipped the poison record {Topic} [{Partition}] @{Offset}: {Reason}.")]
        public static partial void PoisonSkipped(ILogger logger, string topic, int partition, long offset, string reason);

        [LoggerMessage(207, LogLevel.Critical, "Stopping at the poison record {Topic} [{Partition}] @{Offset}: {Reason}. Its offset is not committed.")]
        public static partial void PoisonStop(ILogger logger, string topic, int partition, long offset, string reason);

        [LoggerMessage(208, LogLevel.Warning, "Consuming failed with {Code}: {Reason}; retrying.")]
        public static partial void ConsumeFailed(ILogger logger, ErrorCode code, string reason);

        [LoggerMessage(209, LogLevel.Warning, "Could not store the offset of {Topic} [{Partition}] @{Offset} ({Code}); the record will be delivered again.")]
        public static partial void StoreFailed(ILogger logger, string topic, int partition, long offset, ErrorCode code);

        [LoggerMessage(210, LogLevel.Warning, "Committing offsets failed with {Code}: {Reason}; the records since the last commit will be delivered again.")]
        public static partial void CommitFailed(ILogger logger, ErrorCode code, string reason);

        [LoggerMessage(211, LogLevel.Warning, "Closing the consumer failed with {Code}: {Reason}.")]
        public static partial void CloseFailed(ILogger logger, ErrorCode code, string reason);
    }
}
