using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// Consumes one topic in one consumer group on a thread of its own, turns each record back into a <see cref="RecordedEvent"/>
/// and hands it to the dispatcher (typed handlers, idempotency) through a Polly retry pipeline, then applies the failure
/// policy. At least once: a record's offset is stored (and later committed) only once its event was handled, skipped or
/// dead-lettered; stored offsets are committed when partitions are revoked and when the service stops. One event at a
/// time, in partition order. While a handler runs or waits to retry, the thread keeps polling with its partitions paused,
/// so the member stays in its group.
/// </summary>
internal sealed partial class KafkaEventConsumerService : BackgroundService
{
    private static readonly TimeSpan FastHandler = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan PollWhileHandling = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);
    private static readonly TimeSpan DeadLetterFlushTimeout = TimeSpan.FromSeconds(10);

    private readonly KafkaConsumerOptions _options;
    private readonly KafkaEventDispatcher _dispatcher;
    private readonly IServiceProvider _services;
    private readonly ResiliencePipeline _retry;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<int, long> _lagByPartition = [];
    private readonly string _topic;
    private readonly string _groupId;
    private InFlight? _inFlight;
    private IProducer<byte[]?, byte[]?>? _deadLetters;
    private long _handled;
    private long _skipped;
    private long _deadLettered;
    private readonly KafkaInstruments _instruments;
    private long _lag;
    private int _assigned;

    public KafkaEventConsumerService(KafkaConsumerOptions options, KafkaConsumerRegistration registration, IServiceProvider services, ILogger logger)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(KafkaConsumerOptions), errors);
        }

        _options = options;
        _topic = options.Topic!;
        _groupId = options.GroupId!;
        _logger = logger;
        _services = services;
        _timeProvider = (TimeProvider?)services.GetService(typeof(TimeProvider)) ?? TimeProvider.System;
        _instruments = KafkaInstruments.For((System.Diagnostics.Metrics.IMeterFactory?)services.GetService(typeof(System.Diagnostics.Metrics.IMeterFactory)));
        _dispatcher = new KafkaEventDispatcher(registration, options, services, logger);
        _retry = BuildRetryPipeline(options);
    }

    /// <summary>The topic consumed.</summary>
    public string Topic => _topic;

    /// <summary>The consumer group.</summary>
    public string GroupId => _groupId;

    /// <summary>Events the handler completed (duplicates included).</summary>
    public long HandledCount => Interlocked.Read(ref _handled);

    /// <summary>How many partitions this member owns now.</summary>
    public int AssignedPartitionCount => Volatile.Read(ref _assigned);

    /// <summary>Poison records skipped.</summary>
    public long SkippedCount => Interlocked.Read(ref _skipped);

    /// <summary>Events sent to the dead-letter topic.</summary>
    public long DeadLetteredCount => Interlocked.Read(ref _deadLettered);

    /// <summary>Records on this member's partitions after the last one it read (from the high watermarks its fetches saw).</summary>
    public long Lag => Interlocked.Read(ref _lag);

    /// <summary>The largest lag the health check calls healthy.</summary>
    public long MaxHealthyLag => _options.MaxHealthyLag;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var pruning = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var prune = _dispatcher.IsIdempotent ? PruneLoopAsync(pruning.Token) : Task.CompletedTask;
        try
        {
            await Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            await pruning.CancelAsync().ConfigureAwait(false);
            await prune.ConfigureAwait(false);
        }
    }

    private void Run(CancellationToken stoppingToken)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(_options.ToConsumerConfig())
            .SetLogHandler((_, message) => KafkaLog.Write(_logger, message))
            .SetErrorHandler((_, error) => KafkaLog.Error(_logger, error))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                Interlocked.Add(ref _assigned, partitions.Count);
                Log.Assigned(_logger, _groupId, FormatPartitions(partitions));
            })
            .SetPartitionsRevokedHandler(OnRevoked)
            .SetPartitionsLostHandler((_, partitions) =>
            {
                Interlocked.Add(ref _assigned, -partitions.Count);
                Forget(partitions.Select(p => p.TopicPartition));
                Log.Lost(_logger, _groupId, FormatPartitions(partitions.Select(p => p.TopicPartition)));
            })
            .Build();
        consumer.Subscribe(_topic);
        Log.Started(_logger, _topic, _groupId, _options.PoisonRecordPolicy);
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

                UpdateLag(consumer, result);
                if (!CloudEventsKafkaBinding.TryToRecordedEvent(result.Topic, result.Message, out var recordedEvent, out var problem))
                {
                    OnPoisonRecord(consumer, result, problem!);
                    continue;
                }

                Process(consumer, recordedEvent!, result, stoppingToken);
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

            CloseDeadLetters();
            Log.Stopped(_logger, _topic, _groupId, HandledCount, SkippedCount);
        }
    }

    /// <summary>Handles one event to its outcome, in a Consumer span, polling meanwhile; stores its offset unless it was abandoned.</summary>
    private void Process(IConsumer<byte[]?, byte[]?> consumer, RecordedEvent recordedEvent, ConsumeResult<byte[]?, byte[]?> result, CancellationToken stoppingToken)
    {
        using var activity = KafkaTracing.StartProcess(recordedEvent, result, _groupId);
        var started = Stopwatch.GetTimestamp();
        using var inFlight = new InFlight(recordedEvent, result, stoppingToken);
        _inFlight = inFlight;
        var outcome = Outcome.Stopped;
        try
        {
            var processing = ProcessAsync(inFlight, activity);
            outcome = WaitPolling(consumer, processing);
        }
        finally
        {
            _inFlight = null;
            _instruments.HandleDuration.Record(
                Stopwatch.GetElapsedTime(started).TotalSeconds, KafkaDiagnostics.Topic(_topic), new("outcome", OutcomeName(outcome)));
        }

        switch (outcome)
        {
            case Outcome.Handled:
                Interlocked.Increment(ref _handled);
                _instruments.EventsHandled.Add(1, KafkaDiagnostics.Topic(result.Topic));
                StoreOffset(consumer, result);
                break;
            case Outcome.Skipped or Outcome.DeadLettered:
                StoreOffset(consumer, result);
                break;
            default:
                // Abandoned: the service stops or the partition moved to another member, which gets the record again.
                break;
        }
    }

    private async Task<Outcome> ProcessAsync(InFlight inFlight, Activity? activity)
    {
        var context = new KafkaEventContext(inFlight.Event, _groupId, inFlight.Result.Partition.Value, inFlight.Result.Offset.Value, _services);
        inFlight.Context = context;
        try
        {
            await _retry.ExecuteAsync(
                static (state, cancellationToken) =>
                {
                    var (dispatcher, context) = state;
                    context.Attempt++;
                    return dispatcher.DispatchAsync(context.Event, context, cancellationToken);
                },
                (_dispatcher, context),
                inFlight.Token).ConfigureAwait(false);
            if (_dispatcher.SkippedUnknownType)
            {
                _instruments.EventsSkipped.Add(1, KafkaDiagnostics.Topic(_topic), new("reason", "unknown_type"));
                return Outcome.Skipped;
            }

            return Outcome.Handled;
        }
        catch (OperationCanceledException) when (inFlight.Token.IsCancellationRequested)
        {
            return Outcome.Abandoned;
        }
        catch (Exception ex)
        {
            return await FailAsync(inFlight, context, ex, activity).ConfigureAwait(false);
        }
        finally
        {
            await context.DisposeScopeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The handler gave up (or no handler takes the type): skip, dead-letter or stop, per the policy.</summary>
    private async Task<Outcome> FailAsync(InFlight inFlight, KafkaEventContext context, Exception exception, Activity? activity)
    {
        var (recordedEvent, result) = (inFlight.Event, inFlight.Result);
        var unknownType = exception is UnknownEventTypeException;
        var policy = unknownType
            ? _options.UnknownEventTypePolicy == UnknownEventTypePolicy.Stop ? HandlerFailurePolicy.Stop : HandlerFailurePolicy.DeadLetter
            : _options.HandlerFailurePolicy;
        var reason = unknownType ? "unknown_type" : "handler_failed";
        if (activity is not null)
        {
            KafkaTracing.Failed(activity, exception.GetType().FullName!, exception, exception.Message);
        }

        if (!unknownType)
        {
            _instruments.HandlerFailures.Add(1, KafkaDiagnostics.Topic(result.Topic));
            Log.HandlerGaveUp(_logger, exception, recordedEvent.EventId, result.Topic, result.Partition.Value, result.Offset.Value, context.Attempt, policy);
        }

        switch (policy)
        {
            case HandlerFailurePolicy.Skip:
                _instruments.EventsSkipped.Add(1, KafkaDiagnostics.Topic(_topic), new("reason", reason));
                return Outcome.Skipped;
            case HandlerFailurePolicy.DeadLetter:
                try
                {
                    await DeadLetterAsync(inFlight, context, exception, reason).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (inFlight.Token.IsCancellationRequested)
                {
                    return Outcome.Abandoned;
                }
                catch (Exception ex)
                {
                    throw Stop(inFlight, $"the dead-letter topic '{_options.DeadLetterTopic}' could not be written ({ex.Message})", ex);
                }

                Interlocked.Increment(ref _deadLettered);
                _instruments.EventsDeadLettered.Add(1, KafkaDiagnostics.Topic(_topic), new("reason", reason));
                Log.DeadLettered(_logger, recordedEvent.EventId, result.Topic, result.Partition.Value, result.Offset.Value, _options.DeadLetterTopic!, reason);
                return Outcome.DeadLettered;
            default:
                throw Stop(inFlight, unknownType ? exception.Message : $"the handler failed {context.Attempt} times ({exception.Message})", exception);
        }
    }

    private KafkaHandlerFailedException Stop(InFlight inFlight, string reason, Exception exception)
    {
        var result = inFlight.Result;
        Log.StoppingAt(_logger, inFlight.Event.EventId, result.Topic, result.Partition.Value, result.Offset.Value, reason);
        return new KafkaHandlerFailedException(inFlight.Event.EventId, result.Topic, result.Partition.Value, result.Offset.Value, reason, exception);
    }

    /// <summary>
    /// Waits for the event's outcome. A handler that takes longer than a moment gets the partitions paused and the
    /// consumer polled meanwhile: the member keeps its place in the group (<c>max.poll.interval.ms</c>) and sees rebalances.
    /// </summary>
    private static Outcome WaitPolling(IConsumer<byte[]?, byte[]?> consumer, Task<Outcome> processing)
    {
        if (!Completes(processing, FastHandler))
        {
            consumer.Pause(consumer.Assignment);
            try
            {
                while (!Completes(processing, TimeSpan.Zero))
                {
                    ConsumeResult<byte[]?, byte[]?>? stray;
                    try
                    {
                        stray = consumer.Consume(PollWhileHandling);
                    }
                    catch (ConsumeException ex) when (!ex.Error.IsFatal)
                    {
                        continue;
                    }

                    if (stray is { IsPartitionEOF: false })
                    {
                        // A partition assigned meanwhile starts unpaused: put its record back and pause it too.
                        consumer.Seek(stray.TopicPartitionOffset);
                        consumer.Pause([stray.TopicPartition]);
                    }
                }
            }
            finally
            {
                consumer.Resume(consumer.Assignment);
            }
        }

        return processing.GetAwaiter().GetResult();
    }

    private static bool Completes(Task task, TimeSpan timeout)
    {
        try
        {
            return task.Wait(timeout);
        }
        catch (AggregateException)
        {
            return true;
        }
    }

    private ResiliencePipeline BuildRetryPipeline(KafkaConsumerOptions options)
    {
        if (options.MaxRetryAttempts == 0)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            // Errors that cannot heal go straight to the failure policy, and a stop or a lost partition ends the retries.
            // A cancellation of the handler's own (HttpClient's timeout, say) is a failure like any other.
            ShouldHandle = static args => ValueTask.FromResult(
                args.Outcome.Exception is { } ex
                && ex is not (EventDeserializationException or UnknownEventTypeException)
                && !(ex is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)),
            MaxRetryAttempts = options.MaxRetryAttempts,
            Delay = options.RetryDelay,
            MaxDelay = options.MaxRetryDelay,
            BackoffType = options.RetryBackoff,
            UseJitter = options.RetryJitter,
            OnRetry = args =>
            {
                if (_inFlight is { Context: { } context } inFlight)
                {
                    var result = inFlight.Result;
                    _instruments.HandlerFailures.Add(1, KafkaDiagnostics.Topic(result.Topic));
                    Log.HandlerFailed(_logger, args.Outcome.Exception!, inFlight.Event.EventId, result.Topic, result.Partition.Value, result.Offset.Value, context.Attempt, args.RetryDelay);
                }

                return default;
            },
        }).Build();
    }

    private async Task DeadLetterAsync(InFlight inFlight, KafkaEventContext context, Exception exception, string reason)
    {
        _deadLetters ??= new ProducerBuilder<byte[]?, byte[]?>(_options.ToDeadLetterProducerConfig())
            .SetLogHandler((_, message) => KafkaLog.Write(_logger, message))
            .SetErrorHandler((_, error) => KafkaLog.Error(_logger, error))
            .Build();
        var message = DeadLetterRecord.Create(inFlight.Result, _groupId, reason, exception, context.Attempt, _timeProvider.GetUtcNow().UtcDateTime, Activity.Current);
        await _deadLetters.ProduceAsync(_options.DeadLetterTopic, message, inFlight.Token).ConfigureAwait(false);
    }

    private void CloseDeadLetters()
    {
        if (_deadLetters is { } producer)
        {
            producer.Flush(DeadLetterFlushTimeout);
            producer.Dispose();
            _deadLetters = null;
        }
    }

    private async Task PruneLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(PruneInterval);
        do
        {
            try
            {
                await _dispatcher.PruneAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.PruneFailed(_logger, ex, PruneInterval);
            }
        }
        while (await WaitAsync(timer, cancellationToken).ConfigureAwait(false));
    }

    private static async ValueTask<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void OnPoisonRecord(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result, string problem)
    {
        _instruments.PoisonRecords.Add(1, KafkaDiagnostics.Topic(result.Topic));
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
        Forget(partitions.Select(p => p.TopicPartition));
        Log.Revoked(_logger, _groupId, FormatPartitions(partitions.Select(p => p.TopicPartition)));
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

    /// <summary>Partitions gone: stop their lag counting, and abandon the event in flight if it is on one of them.</summary>
    private void Forget(IEnumerable<TopicPartition> partitions)
    {
        foreach (var partition in partitions)
        {
            _lagByPartition.Remove(partition.Partition.Value);
            if (_inFlight is { } inFlight && inFlight.Result.TopicPartition == partition)
            {
                inFlight.Abandon();
            }
        }

        Interlocked.Exchange(ref _lag, _lagByPartition.Values.Sum());
    }

    private void UpdateLag(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> result)
    {
        var high = consumer.GetWatermarkOffsets(result.TopicPartition).High.Value;
        if (high >= 0)
        {
            // Per record: the total moves by this partition's change (no enumeration of every partition's lag).
            var lag = Math.Max(0, high - result.Offset.Value - 1);
            _lagByPartition.TryGetValue(result.Partition.Value, out var previous);
            _lagByPartition[result.Partition.Value] = lag;
            Interlocked.Add(ref _lag, lag - previous);
        }
    }

    private static string FormatPartitions(IEnumerable<TopicPartition> partitions) =>
        string.Join(", ", partitions.Select(p => $"{p.Topic} [{p.Partition.Value}]"));

    private static string OutcomeName(Outcome outcome) => outcome switch
    {
        Outcome.Handled => "handled",
        Outcome.Skipped => "skipped",
        Outcome.DeadLettered => "dead_lettered",
        Outcome.Abandoned => "abandoned",
        _ => "stopped",
    };

    private enum Outcome
    {
        Handled,
        Skipped,
        DeadLettered,
        Abandoned,
        Stopped,
    }

    /// <summary>The event being handled: its record, its context once created, and a token that stopping or losing its partition cancels.</summary>
    private sealed class InFlight(RecordedEvent recordedEvent, ConsumeResult<byte[]?, byte[]?> result, CancellationToken stoppingToken) : IDisposable
    {
        private readonly CancellationTokenSource _cancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);

        public RecordedEvent Event { get; } = recordedEvent;

        public ConsumeResult<byte[]?, byte[]?> Result { get; } = result;

        public KafkaEventContext? Context { get; set; }

        public CancellationToken Token => _cancellation.Token;

        public void Abandon() => _cancellation.Cancel();

        public void Dispose() => _cancellation.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(3200, LogLevel.Information, "Kafka consumer started on topic {Topic}, group {GroupId}, poison records: {Policy}.")]
        public static partial void Started(ILogger logger, string topic, string groupId, PoisonRecordPolicy policy);

        [LoggerMessage(3201, LogLevel.Information, "Kafka consumer on topic {Topic}, group {GroupId} stopped after handling {Handled} events and skipping {Skipped} poison records.")]
        public static partial void Stopped(ILogger logger, string topic, string groupId, long handled, long skipped);

        [LoggerMessage(3202, LogLevel.Information, "Group {GroupId} assigned {Partitions}.")]
        public static partial void Assigned(ILogger logger, string groupId, string partitions);

        [LoggerMessage(3203, LogLevel.Information, "Group {GroupId} revoked {Partitions}; committing the offsets of handled events.")]
        public static partial void Revoked(ILogger logger, string groupId, string partitions);

        [LoggerMessage(3204, LogLevel.Warning, "Group {GroupId} lost {Partitions}; their unhandled records go to the next owner.")]
        public static partial void Lost(ILogger logger, string groupId, string partitions);

        [LoggerMessage(3205, LogLevel.Warning, "The handler failed on event {EventId} ({Topic} [{Partition}] @{Offset}), attempt {Attempt}; it gets the event again in {Delay}.")]
        public static partial void HandlerFailed(ILogger logger, Exception exception, TimeUuid eventId, string topic, int partition, long offset, int attempt, TimeSpan delay);

        [LoggerMessage(3206, LogLevel.Error, "Skipped the poison record {Topic} [{Partition}] @{Offset}: {Reason}.")]
        public static partial void PoisonSkipped(ILogger logger, string topic, int partition, long offset, string reason);

        [LoggerMessage(3207, LogLevel.Critical, "Stopping at the poison record {Topic} [{Partition}] @{Offset}: {Reason}. Its offset is not committed.")]
        public static partial void PoisonStop(ILogger logger, string topic, int partition, long offset, string reason);

        [LoggerMessage(3208, LogLevel.Warning, "Consuming failed with {Code}: {Reason}; retrying.")]
        public static partial void ConsumeFailed(ILogger logger, ErrorCode code, string reason);

        [LoggerMessage(3209, LogLevel.Warning, "Could not store the offset of {Topic} [{Partition}] @{Offset} ({Code}); the record will be delivered again.")]
        public static partial void StoreFailed(ILogger logger, string topic, int partition, long offset, ErrorCode code);

        [LoggerMessage(3210, LogLevel.Warning, "Committing offsets failed with {Code}: {Reason}; the records since the last commit will be delivered again.")]
        public static partial void CommitFailed(ILogger logger, ErrorCode code, string reason);

        [LoggerMessage(3211, LogLevel.Warning, "Closing the consumer failed with {Code}: {Reason}.")]
        public static partial void CloseFailed(ILogger logger, ErrorCode code, string reason);

        [LoggerMessage(3212, LogLevel.Error, "The handler failed on event {EventId} ({Topic} [{Partition}] @{Offset}) after {Attempts} attempts; failure policy: {Policy}.")]
        public static partial void HandlerGaveUp(ILogger logger, Exception exception, TimeUuid eventId, string topic, int partition, long offset, int attempts, HandlerFailurePolicy policy);

        [LoggerMessage(3214, LogLevel.Critical, "Stopping at event {EventId} ({Topic} [{Partition}] @{Offset}): {Reason}. Its offset is not committed.")]
        public static partial void StoppingAt(ILogger logger, TimeUuid eventId, string topic, int partition, long offset, string reason);

        [LoggerMessage(3215, LogLevel.Warning, "Event {EventId} ({Topic} [{Partition}] @{Offset}) was sent to the dead-letter topic {DeadLetterTopic} ({Reason}).")]
        public static partial void DeadLettered(ILogger logger, TimeUuid eventId, string topic, int partition, long offset, string deadLetterTopic, string reason);

        [LoggerMessage(3216, LogLevel.Warning, "Pruning the processed-event log failed; trying again in {Interval}.")]
        public static partial void PruneFailed(ILogger logger, Exception exception, TimeSpan interval);
    }
}
