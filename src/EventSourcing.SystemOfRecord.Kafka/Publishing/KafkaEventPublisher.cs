using System.Diagnostics;
using System.Diagnostics.Metrics;
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
/// <remarks>
/// With <see cref="KafkaPublisherOptions.ExactlyOnce"/> it publishes through a transactional producer instead
/// (<see cref="IsTransactional"/>): the system of record's publish pipeline sends batches of events, each in one Kafka
/// transaction with its publish cursor, so <c>read_committed</c> consumers see every stored event exactly once. One
/// publisher then serves one system of record, and publishes nothing outside its transactions.
/// </remarks>
public sealed partial class KafkaEventPublisher : ICallbackEventPublisher, ITransactionalEventPublisher, IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan QueueFullRetryDelay = TimeSpan.FromMilliseconds(5);

    // How long a released producer may keep serving delivery reports past the publish timeout: librdkafka fails a record
    // in flight only once its request times out (request.timeout.ms, 30 s by default).
    private static readonly TimeSpan DrainLimit = TimeSpan.FromMinutes(1);

    // Room kept under message.max.bytes for what the publisher adds to the event's own key, value and headers: the
    // CloudEvents attributes, trace context and record framing.
    private const int RecordOverheadBytes = 2048;

    private readonly ProducerConfig _config;
    private readonly object _replaceGate = new();
    private readonly List<Task> _retiring = [];
    private readonly ILogger _logger;
    private readonly KafkaInstruments _instruments;
    private readonly TransactionalProducer? _transactions;
    private volatile ProducerSlot? _slot;
    private readonly string _source;
    private readonly string _type;
    private readonly string? _contentType;
    private readonly TimeSpan _flushTimeout;
    private int _disposed;

    // Calls handing a record to the producer right now: Dispose waits for them, so none reaches a producer it released.
    private int _producing;

    /// <summary>Creates the publisher and its producer.</summary>
    /// <param name="options">The settings; validated here.</param>
    /// <param name="logger">The logger; none when null.</param>
    /// <param name="meterFactory">Makes the <c>EventSourcing.SystemOfRecord</c> meter (dependency injection passes the container's); a process-wide meter when null.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    public KafkaEventPublisher(IOptions<KafkaPublisherOptions> options, ILogger<KafkaEventPublisher>? logger = null, IMeterFactory? meterFactory = null)
        : this(options, logger, cursorReader: null, meterFactory)
    {
    }

    /// <summary>Creates the publisher; <paramref name="cursorReader"/> reads the exactly-once cursor topic (a <c>read_committed</c> consumer when null).</summary>
    internal KafkaEventPublisher(IOptions<KafkaPublisherOptions> options, ILogger<KafkaEventPublisher>? logger, IPublishCursorReader? cursorReader, IMeterFactory? meterFactory = null)
    {
        _instruments = KafkaInstruments.For(meterFactory);
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
        if (settings.ExactlyOnce)
        {
            _transactions = new TransactionalProducer(settings, cursorReader ?? new CommittedCursorReader(settings, _logger), _logger, _instruments);
            Log.StartedExactlyOnce(_logger, settings.BootstrapServers!, settings.CursorTopic);
        }
        else
        {
            _slot = CreateSlot();
            Log.Started(_logger, settings.BootstrapServers!, _slot.Producer.Name);
        }
    }

    /// <summary>
    /// The largest record the producer takes (librdkafka's <c>message.max.bytes</c>, 1 000 000 bytes unless
    /// <see cref="KafkaPublisherOptions.ProducerSettings"/> sets it), less what the publisher adds to each event: an
    /// append over it is refused before anything is written, rather than stored and never published.
    /// </summary>
    public PublishLimits Limits { get; }

    /// <summary>Whether this publisher publishes exactly once, in transactions (<see cref="KafkaPublisherOptions.ExactlyOnce"/>).</summary>
    public bool IsTransactional => _transactions is not null;

    /// <summary>
    /// Exactly once: takes the transactional id of <paramref name="instanceName"/> (<see cref="KafkaPublisherOptions.TransactionalIdPrefix"/>
    /// + the name), which fences any older producer that holds it (Kafka aborts its open transaction and refuses its
    /// later commits); creates <see cref="KafkaPublisherOptions.CursorTopic"/> when missing; and returns the cursor the
    /// instance committed last, read as a <c>read_committed</c> consumer sees it. The publish pipeline calls it once, at start.
    /// </summary>
    /// <param name="instanceName">The system of record's instance name.</param>
    /// <param name="cancellationToken">Cancels the call before it reaches Kafka.</param>
    /// <returns>The last committed cursor, or <see langword="null"/> when the instance never committed one.</returns>
    /// <exception cref="InvalidOperationException"><see cref="KafkaPublisherOptions.ExactlyOnce"/> is off, or the publisher already serves another instance.</exception>
    /// <exception cref="KafkaTransactionException">Kafka could not be reached, or the cursor topic is missing and could not be created.</exception>
    /// <exception cref="InstanceConflictException">A newer producer fenced this one while it started.</exception>
    public ValueTask<string?> InitializeTransactionsAsync(string instanceName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceName);
        var transactions = TransactionsOrThrow();

        // librdkafka's InitTransactions blocks until the coordinator answers: not on the caller's thread.
        return new ValueTask<string?>(Task.Run(() => transactions.Initialize(instanceName, cancellationToken), cancellationToken));
    }

    /// <summary>
    /// Exactly once: publishes <paramref name="events"/> (as the same CloudEvents records, with the same Producer spans, as
    /// the at-least-once path) and the cursor record in one Kafka transaction, and returns once it committed. Blocks
    /// the calling thread while librdkafka works (the publish pipeline calls it from its dispatcher thread, one call at a time).
    /// </summary>
    /// <param name="events">The events, in order.</param>
    /// <param name="cursor">The publish pipeline's cursor once the transaction commits.</param>
    /// <param name="cancellationToken">Checked before the commit starts; the transaction is then aborted.</param>
    /// <exception cref="KafkaPublishException">Kafka refused one of the records for good (<see cref="SystemOfRecordException.IsTransient"/> false); the transaction was aborted.</exception>
    /// <exception cref="KafkaTransactionException">The transaction was aborted, or its commit did not finish in time; trying again with the same batch is safe.</exception>
    /// <exception cref="InstanceConflictException">Another process took over this instance's transactional id; this publisher publishes no more.</exception>
    public ValueTask PublishTransactionAsync(IReadOnlyList<RecordedEvent> events, string cursor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentException.ThrowIfNullOrEmpty(cursor);
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is null)
            {
                throw new ArgumentException($"events[{i}] is null.", nameof(events));
            }
        }

        var transactions = TransactionsOrThrow();
        try
        {
            transactions.Commit(events, cursor, cancellationToken);
            return ValueTask.CompletedTask;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

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
        if (_transactions is not null)
        {
            callback.OnPublished(state, Volatile.Read(ref _disposed) != 0 ? new ObjectDisposedException(nameof(KafkaEventPublisher)) : OutsideTransaction());
            return;
        }

        if (!TryEnterProduce())
        {
            callback.OnPublished(state, new ObjectDisposedException(nameof(KafkaEventPublisher)));
            return;
        }

        try
        {
            var message = CloudEventsKafkaBinding.ToMessage(recordedEvent, _source, _type, _contentType);
            var slot = CurrentSlot();
            var delivery = new Delivery(recordedEvent, slot, KafkaTracing.StartSend(recordedEvent, recordedEvent.Type ?? _type, message.Headers), callback, state, _instruments);
            Produce(recordedEvent, message, delivery, slot);
        }
        finally
        {
            Interlocked.Decrement(ref _producing);
        }
    }

    /// <summary>
    /// Sends the event to its topic (Kafka key = the event's key) and completes when every in-sync replica acknowledged it.
    /// Does not wait for earlier publishes, so concurrent calls are pipelined; records of one key keep their order.
    /// </summary>
    /// <param name="recordedEvent">The event.</param>
    /// <param name="cancellationToken">Stops waiting for the acknowledgement; a record already handed to the producer may still be delivered.</param>
    /// <exception cref="KafkaPublishException">Kafka did not acknowledge the record within <see cref="KafkaPublisherOptions.PublishTimeout"/>, or refused it.</exception>
    /// <exception cref="ObjectDisposedException">The publisher was disposed.</exception>
    /// <exception cref="InvalidOperationException">
    /// <see cref="KafkaPublisherOptions.ExactlyOnce"/> is on: a record sent outside a transaction would bypass the
    /// publish cursor (and interleave with the pipeline's transactions on the one producer). Exactly-once events are
    /// published by the system of record's publish pipeline; republish through it (<c>RepublishDateRangeAsync</c>).
    /// </exception>
    public ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_transactions is not null)
        {
            return ValueTask.FromException(OutsideTransaction());
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        ObjectDisposedException.ThrowIf(!TryEnterProduce(), this);
        Delivery delivery;
        try
        {
            var message = CloudEventsKafkaBinding.ToMessage(recordedEvent, _source, _type, _contentType);
            var slot = CurrentSlot();
            delivery = new Delivery(recordedEvent, slot, KafkaTracing.StartSend(recordedEvent, recordedEvent.Type ?? _type, message.Headers), callback: null, state: null, _instruments);
            Produce(recordedEvent, message, delivery, slot);
        }
        finally
        {
            Interlocked.Decrement(ref _producing);
        }

        return new ValueTask(cancellationToken.CanBeCanceled ? delivery.Task.WaitAsync(cancellationToken) : delivery.Task);
    }

    /// <summary>Waits until every record handed to the producer was acknowledged or failed, at most <paramref name="timeout"/>.</summary>
    /// <returns>How many records were still in flight when the wait ended (0 when all are done).</returns>
    /// <remarks>Exactly once, nothing is in flight between transactions: returns 0.</remarks>
    public int Flush(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _slot?.Producer.Flush(timeout) ?? 0;
    }

    /// <summary>
    /// Flushes what is in flight (at most the publish timeout), then releases the producer. Records still unacknowledged
    /// then keep the producer open in the background until librdkafka answers them (it fails each once its publish
    /// timeout passed, or its in-flight request timed out), so every publish is answered.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // A call that saw the publisher open is handing its record over: let it finish, so the flush covers the record.
        var wait = new SpinWait();
        while (Volatile.Read(ref _producing) != 0)
        {
            wait.SpinOnce();
        }

        _transactions?.Dispose();
        if (_slot?.Producer is { } producer)
        {
            var left = producer.Flush(_flushTimeout);
            if (left == 0)
            {
                producer.Dispose();
            }
            else
            {
                Log.FlushIncomplete(_logger, left);
                _ = Task.Run(() => DrainAndDispose(producer));
            }
        }

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

    /// <summary>Counts a call about to hand a record to the producer; false (and not counted) once the publisher is disposed.</summary>
    private bool TryEnterProduce()
    {
        Interlocked.Increment(ref _producing);
        if (Volatile.Read(ref _disposed) == 0)
        {
            return true;
        }

        Interlocked.Decrement(ref _producing);
        return false;
    }

    /// <summary>
    /// Serves <paramref name="producer"/>'s delivery reports until it holds no record (at most the publish timeout plus
    /// <see cref="DrainLimit"/>), then disposes it. Confluent.Kafka serves no delivery report once a producer is disposed
    /// (and offers no purge), so a record still in it would leave its publish unanswered for ever.
    /// </summary>
    private void DrainAndDispose(IProducer<byte[]?, byte[]> producer)
    {
        try
        {
            var started = Stopwatch.GetTimestamp();
            var limit = _flushTimeout + DrainLimit;
            while (producer.Flush(TimeSpan.FromMilliseconds(500)) > 0 && Stopwatch.GetElapsedTime(started) < limit)
            {
            }
        }
        finally
        {
            producer.Dispose();
        }
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
            delivery.Fail(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, ex.Error, ex), ex.Error.Code.ToString());
        }
        catch (ObjectDisposedException ex)
        {
            // The producer was retired (it failed) or disposed since it was chosen: the pipeline tries again.
            delivery.Fail(ex, typeof(ObjectDisposedException).FullName!);
        }
    }

    // The producer's queue (queue.buffering.max.messages) is full: back off briefly until it drains.
    private async Task ProduceWhenQueueHasRoomAsync(RecordedEvent recordedEvent, Message<byte[]?, byte[]> message, Delivery delivery, ProducerSlot slot)
    {
        while (true)
        {
            await Task.Delay(QueueFullRetryDelay).ConfigureAwait(false);
            if (!TryEnterProduce())
            {
                delivery.Fail(new ObjectDisposedException(nameof(KafkaEventPublisher)), typeof(ObjectDisposedException).FullName!);
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
                delivery.Fail(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, ex.Error, ex), ex.Error.Code.ToString());
                return;
            }
            catch (Exception ex)
            {
                // Nobody awaits this task: any other failure (the slot's producer retired and disposed meanwhile, say)
                // must still reach the caller, or its publish would never end.
                delivery.Fail(ex, ex.GetType().FullName!);
                return;
            }
            finally
            {
                Interlocked.Decrement(ref _producing);
            }
        }
    }

    private TransactionalProducer TransactionsOrThrow()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _transactions ?? throw new InvalidOperationException(
            "This Kafka publisher publishes at least once; set KafkaPublisherOptions.ExactlyOnce to publish in transactions.");
    }

    private static InvalidOperationException OutsideTransaction() => new(
        "This Kafka publisher publishes exactly once (KafkaPublisherOptions.ExactlyOnce): events go out only in the system of record's "
        + "transactions, with its publish cursor. Publish through the system of record (AppendAsync, RepublishDateRangeAsync).");

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
        var slot = _slot!;
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

            return _slot!;
        }
    }

    private void Retire(IProducer<byte[]?, byte[]> producer)
    {
        try
        {
            // A producer in fatal state fails what it still holds at once; the callers see those failures.
            DrainAndDispose(producer);
        }
        catch (KafkaException ex)
        {
            Log.RetireFailed(_logger, ex.Error.Code);
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
    private sealed class Delivery(RecordedEvent recordedEvent, ProducerSlot slot, Activity? activity, IPublishCallback? callback, object? state, KafkaInstruments instruments)
    {
        private readonly TaskCompletionSource? _completion = callback is null ? new(TaskCreationOptions.RunContinuationsAsynchronously) : null;

        public Task Task => _completion!.Task;

        public void Handler(DeliveryReport<byte[]?, byte[]> report)
        {
            if (report.Error.IsError)
            {
                slot.FailedIf(report.Error);
                Fail(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, report.Error), report.Error.Code.ToString());
            }
            else if (report.Status != PersistenceStatus.Persisted)
            {
                Fail(new KafkaPublishException(recordedEvent.EventId, recordedEvent.Topic, new Error(ErrorCode.Unknown, $"delivery status {report.Status}")), nameof(ErrorCode.Unknown));
            }
            else
            {
                instruments.RecordsAcknowledged.Add(1, KafkaDiagnostics.Topic(recordedEvent.Topic));
                if (activity is not null)
                {
                    KafkaTracing.Acknowledged(activity, report.Partition, report.Offset);
                    KafkaTracing.Stop(activity);
                }

                Complete(null);
            }
        }

        /// <summary>
        /// The record failed, in its delivery report or before it reached the producer (or never will): counts it,
        /// ends its span and reports the failure.
        /// </summary>
        public void Fail(Exception exception, string errorType)
        {
            instruments.PublishFailures.Add(1, KafkaDiagnostics.Topic(recordedEvent.Topic));
            if (activity is not null)
            {
                KafkaTracing.Failed(activity, errorType, exception, exception.Message);
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
