using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// Publishes recorded events to Kafka as CloudEvents 1.0 (Kafka binding, binary content mode) through one idempotent
/// producer with <c>acks=all</c>. Thread-safe; concurrent publishes are pipelined. Register one per application
/// (<c>UseKafka</c> does); disposing it flushes what is still in flight. After a fatal producer error (the idempotent
/// producer's sequence or epoch broke) the publishes in flight fail and the next publish starts a new producer.
/// </summary>
public sealed partial class KafkaEventPublisher : ICallbackEventPublisher, IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan QueueFullRetryDelay = TimeSpan.FromMilliseconds(5);

    // Room kept under message.max.bytes for what the publisher adds to the event's own key, value and headers: the
    // CloudEvents attributes, trace context and record framing.
    private const int RecordOverheadBytes = 2048;

    private readonly ProducerConfig _config;
    private readonly object _replaceGate = new();
    private readonly List<Task> _retiring = [];
    private readonly ILogger _logger;
    private volatile ProducerSlot _slot;
    private readonly string _source;
    private readonly string _type;
    private readonly string? _contentType;
    private readonly TimeSpan _flushTimeout;
    private int _disposed;

    /// <summary>Creates the publisher and its producer.</summary>
    /// <param name="options">The settings; validated here.</param>
    /// <param name="logger">The logger; none when null.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    public KafkaEventPublisher(IOptions<KafkaPublisherOptions> options, ILogger<KafkaEventPublisher>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value ?? throw new ArgumentException("The options have no value.", nameof(options));
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(KafkaPublisherOptions), errors);
        }

        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _source = settings.Source;
        _type = settings.Type;
        _contentType = settings.ContentType;
        _flushTimeout = settings.PublishTimeout;
        _config = settings.ToProducerConfig();
        Limits = new PublishLimits
        {
            MaxRecordBytes = (_config.MessageMaxBytes ?? KafkaPublisherOptions.DefaultMessageMaxBytes) - RecordOverheadBytes
                - System.Text.Encoding.UTF8.GetByteCount(_source) - System.Text.Encoding.UTF8.GetByteCount(_type) - System.Text.Encoding.UTF8.GetByteCount(_contentType ?? ""),
        };
        _slot = CreateSlot();
        Log.Started(_logger, settings.BootstrapServers!, _slot.Producer.Name);
    }

    /// <summary>
    /// The largest record the producer takes (librdkafka's <c>message.max.bytes</c>, 1 000 000 bytes unless
    /// <see cref="KafkaPublisherOptions.ProducerSettings"/> sets it), less what the publisher adds to each event: an
    /// append over it is refused before anything is written, rather than stored and never published.
    /// </summary>
    public PublishLimits Limits { get; }

    /// <summary>
    /// Sends the event to its topic and calls <paramref name="callback"/> on librdkafka's delivery thread when every
    /// in-sync replica acknowledged it or it failed (a <see cref="KafkaPublishException"/>). The publish pipeline's fast path.
    /// </summary>
    /// <param name="recordedEvent">The event.</param>
    /// <param name="callback">Told the outcome, exactly once.</param>
    /// <param name="state">Handed back to <paramref name="callback"/>.</param>
    public void Publish(RecordedEvent recordedEvent, IPublishCallback callback, object? state)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ArgumentNullException.ThrowIfNull(callback);
        if (Volatile.Read(ref _disposed) != 0)
        {
            callback.OnPublished(state, new ObjectDisposedException(nameof(KafkaEventPublisher)));
            return;
        }

        var message = CloudEventsKafkaBinding.ToMessage(recordedEvent, _source, _type, _contentType);
        var slot = CurrentSlot();
        var delivery = new Delivery(recordedEvent, slot, KafkaTracing.StartSend(recordedEvent, recordedEvent.Type ?? _type, message.Headers), callback, state);
        Produce(recordedEvent, message, delivery, slot);
    }

    /// <summary>
    /// Sends the event to its topic (Kafka key = the event's key) and completes when every in-sync replica acknowledged it.
    /// Does not wait for earlier publishes, so concurrent calls are pipelined; records of one key keep their order.
    /// </summary>
    /// <param name="recordedEvent">The event.</param>
    /// <param name="cancellationToken">Stops waiting for the acknowledgement; a record already handed to the producer may still be delivered.</param>
    /// <exception cref="KafkaPublishException">Kafka did not acknowledge the record within <see cref="KafkaPublisherOptions.PublishTimeout"/>, or refused it.</exception>
    /// <exception cref="ObjectDisposedException">The publisher was disposed.</exception>
    public ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        var message = CloudEventsKafkaBinding.ToMessage(recordedEvent, _source, _type, _contentType);
        var slot = CurrentSlot();
        var delivery = new Delivery(recordedEvent, slot, KafkaTracing.StartSend(recordedEvent, recordedEvent.Type ?? _type, message.Headers), callback: null, state: null);
        Produce(recordedEvent, message, delivery, slot);
        return new ValueTask(cancellationToken.CanBeCanceled ? delivery.Task.WaitAsync(cancellationToken) : delivery.Task);
    }

    /// <summary>Waits until every record handed to the producer was acknowledged or failed, at most <paramref name="timeout"/>.</summary>
    /// <returns>How many records were still in flight when the wait ended (0 when all are done).</returns>
    public int Flush(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _slot.Producer.Flush(timeout);
    }

    /// <summary>Flushes what is in flight (at most the publish timeout), then releases the producer.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var producer = _slot.Producer;
        var left = producer.Flush(_flushTimeout);
        if (left > 0)
        {
            Log.FlushIncomplete(_logger, left);
        }

        producer.Dispose();
        Task[] retiring;
        lock (_replaceGate)
        {
            retiring = [.. _retiring];
        }

        Task.WaitAll(retiring, _flushTimeout);
    }

    /// <inheritdoc cref="Dispose()"/>
    public ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return ValueTask.CompletedTask;
        }

        return new ValueTask(Task.Run(Dispose));
    }

    /// <summary>Hands the record to the producer; every failure, now or later, ends up in <paramref name="delivery"/>.</summary>
    private void Produce(RecordedEvent recordedEvent, Message<byte[]?, byte[]> message, Delivery delivery, ProducerSlot slot)
    {
        try
        {
            slot.Producer.Produce(recordedEvent.Topic, message, delivery.Handler);
        }
        catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
        {
            _ = ProduceWhenQueueHasRoomAsync(recordedEvent, message, delivery, slot);
        }
        catch (KafkaException ex)
        {
            slot.FailedIf(ex.Error);
            delivery.Abandon(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, ex.Error, ex), ex.Error.Code.ToString());
        }
    }

    // The producer's queue (queue.buffering.max.messages) is full: back off briefly until it drains.
    private async Task ProduceWhenQueueHasRoomAsync(RecordedEvent recordedEvent, Message<byte[]?, byte[]> message, Delivery delivery, ProducerSlot slot)
    {
        while (true)
        {
            await Task.Delay(QueueFullRetryDelay).ConfigureAwait(false);
            if (Volatile.Read(ref _disposed) != 0)
            {
                delivery.Abandon(new ObjectDisposedException(nameof(KafkaEventPublisher)), typeof(ObjectDisposedException).FullName!);
                return;
            }

            try
            {
                slot.Producer.Produce(recordedEvent.Topic, message, delivery.Handler);
                return;
            }
            catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
            }
            catch (KafkaException ex)
            {
                slot.FailedIf(ex.Error);
                delivery.Abandon(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, ex.Error, ex), ex.Error.Code.ToString());
                return;
            }
        }
    }

    private ProducerSlot CreateSlot()
    {
        var slot = new ProducerSlot();
        slot.Producer = new ProducerBuilder<byte[]?, byte[]>(_config)
            .SetLogHandler((_, message) => KafkaLog.Write(_logger, message))
            .SetErrorHandler((_, error) =>
            {
                KafkaLog.Error(_logger, error);
                slot.FailedIf(error);
            })
            .Build();
        return slot;
    }

    // The producer in use; after a fatal error the first caller swaps in a new one and retires the old one in the background.
    private ProducerSlot CurrentSlot()
    {
        var slot = _slot;
        if (!slot.Failed)
        {
            return slot;
        }

        lock (_replaceGate)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (ReferenceEquals(_slot, slot))
            {
                _slot = CreateSlot();
                Log.ProducerReplaced(_logger, slot.Producer.Name, _slot.Producer.Name);
                _retiring.RemoveAll(t => t.IsCompleted);
                _retiring.Add(Task.Run(() => Retire(slot.Producer)));
            }

            return _slot;
        }
    }

    private void Retire(IProducer<byte[]?, byte[]> producer)
    {
        try
        {
            // A producer in fatal state fails what it still holds at once; the callers see those failures.
            producer.Flush(_flushTimeout);
        }
        catch (KafkaException ex)
        {
            Log.RetireFailed(_logger, ex.Error.Code);
        }
        finally
        {
            producer.Dispose();
        }
    }

    /// <summary>A producer and whether it hit a fatal error (it then fails every record it is given).</summary>
    private sealed class ProducerSlot
    {
        private volatile bool _failed;

        public IProducer<byte[]?, byte[]> Producer { get; set; } = null!;

        public bool Failed => _failed;

        // librdkafka raises these broker answers to an idempotent producer as a fatal error; the delivery report
        // carrying one may arrive before the fatal error event does.
        public void FailedIf(Error error)
        {
            if (error.IsFatal || error.Code is ErrorCode.OutOfOrderSequenceNumber or ErrorCode.InvalidProducerEpoch)
            {
                _failed = true;
            }
        }
    }

    /// <summary>
    /// One record's delivery report, told to the caller's callback or turned into a task; it also ends the record's
    /// Producer span, if any.
    /// </summary>
    private sealed class Delivery(RecordedEvent recordedEvent, ProducerSlot slot, Activity? activity, IPublishCallback? callback, object? state)
    {
        private readonly TaskCompletionSource? _completion = callback is null ? new(TaskCreationOptions.RunContinuationsAsynchronously) : null;

        public Task Task => _completion!.Task;

        public void Handler(DeliveryReport<byte[]?, byte[]> report)
        {
            if (report.Error.IsError)
            {
                slot.FailedIf(report.Error);
                Fail(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, report.Error), report.Error.Code);
            }
            else if (report.Status != PersistenceStatus.Persisted)
            {
                Fail(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, new Error(ErrorCode.Unknown, $"delivery status {report.Status}")), ErrorCode.Unknown);
            }
            else
            {
                KafkaDiagnostics.RecordsAcknowledged.Add(1, KafkaDiagnostics.Topic(recordedEvent.Topic));
                if (activity is not null)
                {
                    KafkaTracing.Acknowledged(activity, report.Partition, report.Offset);
                    KafkaTracing.Stop(activity);
                }

                Complete(null);
            }
        }

        /// <summary>The record never reached the producer (or never will): ends its span and reports the failure.</summary>
        public void Abandon(Exception exception, string errorType)
        {
            if (activity is not null)
            {
                KafkaTracing.Failed(activity, errorType, exception, exception.Message);
                KafkaTracing.Stop(activity);
            }

            Complete(exception);
        }

        private void Fail(KafkaPublishException exception, ErrorCode code)
        {
            KafkaDiagnostics.PublishFailures.Add(1, KafkaDiagnostics.Topic(recordedEvent.Topic));
            if (activity is not null)
            {
                KafkaTracing.Failed(activity, code.ToString(), exception, exception.Message);
                KafkaTracing.Stop(activity);
            }

            Complete(exception);
        }

        private void Complete(Exception? error)
        {
            if (callback is not null)
            {
                callback.OnPublished(state, error);
            }
            else if (error is null)
            {
                _completion!.TrySetResult();
            }
            else
            {
                _completion!.TrySetException(error);
            }
        }
    }
}
