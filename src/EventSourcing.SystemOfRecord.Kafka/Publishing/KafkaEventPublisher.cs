using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// Publishes recorded events to Kafka as CloudEvents 1.0 (Kafka binding, binary content mode) through one idempotent
/// producer with <c>acks=all</c>. Thread-safe; concurrent publishes are pipelined. Register one per application
/// (<c>UseKafka</c> does); disposing it flushes what is still in flight.
/// </summary>
public sealed partial class KafkaEventPublisher : IEventPublisher, IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan QueueFullRetryDelay = TimeSpan.FromMilliseconds(5);

    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly ILogger _logger;
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
        var config = settings.ToProducerConfig();
        _producer = new ProducerBuilder<byte[]?, byte[]>(config)
            .SetLogHandler((_, message) => KafkaLog.Write(_logger, message))
            .SetErrorHandler((_, error) => KafkaLog.Error(_logger, error))
            .Build();
        Log.Started(_logger, settings.BootstrapServers!, _producer.Name);
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
        var delivery = new Delivery(recordedEvent);
        try
        {
            _producer.Produce(recordedEvent.Topic, message, delivery.Handler);
        }
        catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
        {
            return ProduceWhenQueueHasRoomAsync(recordedEvent, message, delivery, cancellationToken);
        }
        catch (ProduceException<byte[]?, byte[]> ex)
        {
            return ValueTask.FromException(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, ex.Error, ex));
        }
        catch (KafkaException ex)
        {
            return ValueTask.FromException(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, ex.Error, ex));
        }

        return new ValueTask(cancellationToken.CanBeCanceled ? delivery.Task.WaitAsync(cancellationToken) : delivery.Task);
    }

    /// <summary>Waits until every record handed to the producer was acknowledged or failed, at most <paramref name="timeout"/>.</summary>
    /// <returns>How many records were still in flight when the wait ended (0 when all are done).</returns>
    public int Flush(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _producer.Flush(timeout);
    }

    /// <summary>Flushes what is in flight (at most the publish timeout), then releases the producer.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var left = _producer.Flush(_flushTimeout);
        if (left > 0)
        {
            Log.FlushIncomplete(_logger, left);
        }

        _producer.Dispose();
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

    // The producer's queue (queue.buffering.max.messages) is full: back off briefly until it drains.
    private async ValueTask ProduceWhenQueueHasRoomAsync(RecordedEvent recordedEvent, Message<byte[]?, byte[]> message, Delivery delivery, CancellationToken cancellationToken)
    {
        while (true)
        {
            await Task.Delay(QueueFullRetryDelay, cancellationToken).ConfigureAwait(false);
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            try
            {
                _producer.Produce(recordedEvent.Topic, message, delivery.Handler);
                break;
            }
            catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
            }
            catch (ProduceException<byte[]?, byte[]> ex)
            {
                throw new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, ex.Error, ex);
            }
        }

        await delivery.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One record's delivery report, turned into a task.</summary>
    private sealed class Delivery(RecordedEvent recordedEvent)
    {
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Task => _completion.Task;

        public void Handler(DeliveryReport<byte[]?, byte[]> report)
        {
            if (report.Error.IsError)
            {
                KafkaDiagnostics.PublishFailures.Add(1, KafkaDiagnostics.Topic(recordedEvent.Topic));
                _completion.TrySetException(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, report.Error));
            }
            else if (report.Status != PersistenceStatus.Persisted)
            {
                KafkaDiagnostics.PublishFailures.Add(1, KafkaDiagnostics.Topic(recordedEvent.Topic));
                _completion.TrySetException(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, new Error(ErrorCode.Unknown, $"delivery status {report.Status}")));
            }
            else
            {
                KafkaDiagnostics.RecordsAcknowledged.Add(1, KafkaDiagnostics.Topic(recordedEvent.Topic));
                _completion.TrySetResult();
            }
        }
    }
}
