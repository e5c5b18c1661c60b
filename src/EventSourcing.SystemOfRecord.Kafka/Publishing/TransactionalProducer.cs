using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// The exactly-once engine of <see cref="KafkaEventPublisher"/>: one transactional producer per instance, publishing
/// each batch of events and the cursor it reaches in one Kafka transaction. librdkafka's transactional calls block, so
/// every method blocks its caller (the publish pipeline's dispatcher thread); calls are serialized.
/// </summary>
/// <remarks>
/// Errors follow librdkafka's transactional error classes. Fencing (a newer producer took the transactional id) becomes
/// <see cref="InstanceConflictException"/>, for good. An abortable error aborts the transaction: a record Kafka refuses
/// for good raises a non-transient <see cref="KafkaPublishException"/>, anything else a transient
/// <see cref="KafkaTransactionException"/>. A commit that timed out is resumed by the next call; a fatal error replaces
/// the producer. When a transaction's outcome is unknown (its commit timed out and cannot be resumed, or the producer
/// broke while committing), the next call starts a producer, whose <c>InitTransactions</c> makes Kafka finish or abort
/// that transaction, and reads the cursor topic to learn which: a batch that did commit is not published twice.
/// </remarks>
internal sealed partial class TransactionalProducer : IDisposable
{
    private readonly KafkaPublisherOptions _settings;
    private readonly PublishCursorTopic _cursorTopic;
    private readonly ILogger _logger;
    private readonly TimeSpan _timeout;
    private readonly object _gate = new();
    private IProducer<byte[]?, byte[]>? _producer;
    private string? _instanceName;
    private readonly KafkaInstruments _instruments;
    private bool _initialized;
    private int _cursorPartition;
    private Transaction? _unresolved;
    private bool _resumable;
    private InstanceConflictException? _fenced;
    private bool _disposed;

    public TransactionalProducer(KafkaPublisherOptions settings, IPublishCursorReader cursorReader, ILogger logger, KafkaInstruments instruments)
    {
        _instruments = instruments;
        _settings = settings;
        _logger = logger;
        _timeout = settings.PublishTimeout;
        _cursorTopic = new PublishCursorTopic(settings, cursorReader, logger);
    }

    /// <summary>
    /// Takes the transactional id of <paramref name="instanceName"/> (fencing any older producer that holds it; Kafka
    /// aborts its open transaction), creates the cursor topic when missing, and returns the cursor last committed.
    /// </summary>
    public string? Initialize(string instanceName, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_instanceName is not null && _instanceName != instanceName)
            {
                throw new InvalidOperationException(
                    $"This Kafka publisher publishes exactly once for instance '{_instanceName}', not '{instanceName}': give each system of record its own publisher.");
            }

            cancellationToken.ThrowIfCancellationRequested();
            _instanceName = instanceName;
            _initialized = false;
            _fenced = null;
            _unresolved = null;
            _resumable = false;
            DisposeProducer();

            var partitions = _cursorTopic.Ensure(_timeout);
            _cursorPartition = PublishCursorTopic.PartitionOf(instanceName, partitions);
            _producer = StartProducer();
            var last = _cursorTopic.ReadLast(_cursorPartition, instanceName, _timeout);
            _initialized = true;
            Log.Initialized(_logger, _settings.TransactionalId(instanceName), _cursorTopic.Name, _cursorPartition, last?.Cursor);
            return last?.Cursor;
        }
    }

    /// <summary>Publishes <paramref name="events"/> and <paramref name="cursor"/> in one transaction; returns once it committed.</summary>
    public void Commit(IReadOnlyList<RecordedEvent> events, string cursor, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var instanceName = _initialized ? _instanceName! : throw new InvalidOperationException(
                "Exactly-once publishing starts with a successful InitializeTransactionsAsync (the system of record's publish pipeline calls it).");
            if (_fenced is { } fenced)
            {
                throw new InstanceConflictException(fenced.InstanceName, fenced.Message, fenced.InnerException);
            }

            if (_unresolved is { } unresolved && Resolve(unresolved, cursor))
            {
                return;
            }

            cancellationToken.ThrowIfCancellationRequested();

            // The records first: an event that cannot become one fails here, before a transaction begins.
            var messages = new Message<byte[]?, byte[]>[events.Count];
            for (var i = 0; i < events.Count; i++)
            {
                messages[i] = CloudEventsKafkaBinding.ToMessage(events[i], _settings.Source, _settings.Type, _settings.ContentType);
            }

            _producer ??= StartProducer();
            var transaction = new Transaction(Guid.NewGuid(), cursor, events.Count, _settings.Type, _instruments);
            var cursorSend = new Send(transaction);
            var committing = false;
            try
            {
                _producer.BeginTransaction();
                for (var i = 0; i < events.Count; i++)
                {
                    var send = transaction.Add(i, events[i], messages[i]);
                    Produce(new TopicPartition(events[i].Topic, Partition.Any), send.Message, send.Handler, send);
                }

                Produce(new TopicPartition(_cursorTopic.Name, _cursorPartition), PublishCursorTopic.Record(instanceName, cursor, transaction.Id), cursorSend.Handler, cursorSend);
                if (cancellationToken.IsCancellationRequested)
                {
                    Abort(transaction);
                    transaction.Failed(new OperationCanceledException(cancellationToken));
                    cancellationToken.ThrowIfCancellationRequested();
                }

                committing = true;
                CommitTransaction(transaction);
            }
            catch (KafkaException ex)
            {
                throw Failed(transaction, ex, committing);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !committing && _producer is not null)
            {
                // Not Kafka's doing, but the transaction is open: abort it before the error goes up.
                Abort(transaction);
                transaction.Failed(ex);
                throw;
            }
        }
    }

    /// <summary>Releases the producer. A transaction still open is left to Kafka, which aborts it (the next start's <c>InitTransactions</c> or its timeout).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            DisposeProducer();
        }
    }

    private IProducer<byte[]?, byte[]> StartProducer()
    {
        var config = _settings.ToProducerConfig();
        config.TransactionalId = _settings.TransactionalId(_instanceName!);
        var producer = new ProducerBuilder<byte[]?, byte[]>(config)
            .SetLogHandler((_, message) => KafkaLog.Write(_logger, message))
            .SetErrorHandler((_, error) => KafkaLog.Error(_logger, error))
            .Build();
        try
        {
            producer.InitTransactions(_timeout);
            return producer;
        }
        catch (KafkaException ex)
        {
            producer.Dispose();
            if (IsFencing(ex.Error))
            {
                throw Fence(ex);
            }

            // Codes 14 to 16 are the coordinator's "loading", "not available" and "not coordinator", which Confluent.Kafka names after groups.
            throw new KafkaTransactionException(
                $"The transactional producer '{config.TransactionalId}' could not initialize: {ex.Error.Code} ({ex.Error.Reason}).",
                ex.Error.Code,
                isTransient: ex is KafkaRetriableException || KafkaPublishException.IsTransientCode(ex.Error.Code)
                    || ex.Error.Code is ErrorCode.GroupCoordinatorNotAvailable or ErrorCode.NotCoordinatorForGroup or ErrorCode.GroupLoadInProgress or ErrorCode.ConcurrentTransactions,
                ex);
        }
    }

    // Hands one record to the producer; when its queue is full, waits for deliveries to make room.
    private void Produce(TopicPartition destination, Message<byte[]?, byte[]> message, Action<DeliveryReport<byte[]?, byte[]>> handler, Send send)
    {
        send.Owner.Handed();
        while (true)
        {
            try
            {
                _producer!.Produce(destination, message, handler);
                return;
            }
            catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer!.Flush(TimeSpan.FromMilliseconds(100));
            }
            catch (ProduceException<byte[]?, byte[]> ex)
            {
                send.Refused(ex.Error); // refused before it was sent (larger than message.max.bytes, say): no delivery report follows
                throw;
            }
        }
    }

    private void CommitTransaction(Transaction transaction)
    {
        _producer!.CommitTransaction(_timeout);
        transaction.WaitForReports(_timeout);
        transaction.Committed();
        Log.Committed(_logger, transaction.Id, transaction.Count, transaction.Cursor);
    }

    /// <summary>After a failure whose outcome was unknown: learns whether that transaction committed; true when it did and it is this very batch.</summary>
    private bool Resolve(Transaction unresolved, string cursor)
    {
        if (_resumable && unresolved.Cursor == cursor)
        {
            // librdkafka resumes a commit that timed out where it left off.
            _unresolved = null;
            _resumable = false;
            try
            {
                CommitTransaction(unresolved);
                return true;
            }
            catch (KafkaException ex)
            {
                throw Failed(unresolved, ex, committing: true);
            }
        }

        // A new producer settles the old transaction (Kafka completes a commit it had begun, aborts anything else); the
        // cursor topic then tells which. Until both succeed the transaction stays unresolved.
        _resumable = false;
        DisposeProducer();
        _producer = StartProducer();
        var last = _cursorTopic.ReadLast(_cursorPartition, _instanceName!, _timeout);
        _unresolved = null;
        var committed = last?.Transaction == unresolved.Id.ToString("N");
        Log.Resolved(_logger, unresolved.Id, committed);
        if (committed)
        {
            unresolved.Committed();
        }
        else
        {
            unresolved.Failed(new KafkaTransactionException($"Transaction {unresolved.Id:N} did not commit; its events are published again.", ErrorCode.Local_Fatal, isTransient: true));
        }

        if (committed && unresolved.Cursor != cursor)
        {
            Log.ResolvedOtherBatch(_logger, unresolved.Id, unresolved.Cursor, cursor);
        }

        return committed && unresolved.Cursor == cursor;
    }

    /// <summary>Cleans up after a failed transaction and returns what to throw.</summary>
    private Exception Failed(Transaction transaction, KafkaException ex, bool committing)
    {
        if (IsFencing(ex.Error))
        {
            var conflict = Fence(ex);
            DisposeProducer();
            transaction.Failed(conflict);
            return conflict;
        }

        if (ex is KafkaTxnRequiresAbortException || (!committing && !ex.Error.IsFatal))
        {
            // Abortable: the transaction cannot commit. Abort it, then blame the record Kafka refused for good, if any.
            Abort(transaction);
            if (transaction.DeliveryFailed)
            {
                // Records that failed left a gap in the producer's sequence numbers, which its next transaction would
                // trip over (OUT_OF_ORDER_SEQUENCE_NUMBER, then an epoch bump): start afresh with a new producer.
                DisposeProducer();
            }

            var error = transaction.PermanentRefusal() ?? (Exception)new KafkaTransactionException(
                $"Kafka aborted a transaction of {transaction.Count} events: {ex.Error.Code} ({ex.Error.Reason}).", ex.Error.Code, isTransient: true, ex);
            transaction.Failed(error);
            Log.Aborted(_logger, transaction.Id, transaction.Count, ex.Error.Code);
            return error;
        }

        if (ex is KafkaRetriableException && committing)
        {
            // The commit goes on in the background; the next call resumes it (or learns its outcome).
            _unresolved = transaction;
            _resumable = true;
            Log.CommitPending(_logger, ex, transaction.Id);
            return new KafkaTransactionException(
                $"The commit of a transaction of {transaction.Count} events did not finish within {_timeout}: {ex.Error.Code} ({ex.Error.Reason}). The next attempt resumes it.",
                ex.Error.Code,
                isTransient: true,
                ex);
        }

        // Fatal, or an error of no class (which librdkafka says to treat as fatal): replace the producer.
        Log.ProducerFailed(_logger, ex, ex.Error.Code);
        DisposeProducer();
        if (committing)
        {
            _unresolved = transaction; // the commit may have reached the coordinator: the next call finds out
        }
        else
        {
            transaction.Failed(new KafkaTransactionException("The producer failed before the commit.", ex.Error.Code, isTransient: true, ex));
        }

        return new KafkaTransactionException(
            $"The transactional producer failed: {ex.Error.Code} ({ex.Error.Reason}). The next attempt starts a new one.", ex.Error.Code, isTransient: true, ex);
    }

    private void Abort(Transaction transaction)
    {
        try
        {
            _producer!.AbortTransaction(_timeout);
        }
        catch (KafkaException ex)
        {
            // A producer that cannot abort is replaced (its delivery reports die with it); the next one's
            // InitTransactions makes Kafka abort the transaction.
            Log.AbortFailed(_logger, ex, ex.Error.Code);
            DisposeProducer();
            return;
        }

        transaction.WaitForReports(_timeout);
    }

    private InstanceConflictException Fence(KafkaException ex)
    {
        var transactionalId = _settings.TransactionalId(_instanceName!);
        _fenced = new InstanceConflictException(
            _instanceName!,
            $"Kafka fenced the transactional producer '{transactionalId}' of instance '{_instanceName}': another process started with this instance name "
            + $"and took over its transactions ({ex.Error.Code}). This process publishes no more; give every process its own instance name.",
            ex);
        Log.Fenced(_logger, transactionalId);
        return _fenced;
    }

    private static bool IsFencing(Error error) =>
        error.Code is ErrorCode.Local_Fenced or ErrorCode.ProducerFenced || (error.IsFatal && error.Code == ErrorCode.InvalidProducerEpoch);

    private void DisposeProducer()
    {
        var producer = _producer;
        _producer = null;
        producer?.Dispose();
    }

    /// <summary>One record of a transaction and its delivery report.</summary>
    private class Send(Transaction owner)
    {
        public Transaction Owner { get; } = owner;

        public Error? Error { get; private set; }

        public DeliveryReport<byte[]?, byte[]>? Report { get; private set; }

        public void Handler(DeliveryReport<byte[]?, byte[]> report)
        {
            Report = report;
            Error = report.Error.IsError ? report.Error
                : report.Status == PersistenceStatus.Persisted ? null
                : new Error(ErrorCode.Unknown, $"delivery status {report.Status}");
            Owner.Reported(Error);
        }

        public void Refused(Error error)
        {
            Error = error;
            Owner.Reported(null); // never handed over: no sequence number spent
        }
    }

    /// <summary>An event's record: its message and Producer span.</summary>
    private sealed class EventSend(Transaction owner, RecordedEvent recordedEvent, Message<byte[]?, byte[]> message, string defaultType) : Send(owner)
    {
        public RecordedEvent Event { get; } = recordedEvent;

        public Message<byte[]?, byte[]> Message { get; } = message;

        public Activity? Activity { get; } = KafkaTracing.StartSend(recordedEvent, recordedEvent.Type ?? defaultType, message.Headers);
    }

    /// <summary>One transaction: its id (in the cursor record), its cursor, and its records' delivery reports.</summary>
    private sealed class Transaction(Guid id, string cursor, int count, string defaultType, KafkaInstruments instruments)
    {
        private readonly EventSend?[] _sends = new EventSend?[count];
        private readonly object _reports = new();
        private int _handed;
        private int _reported;
        private bool _deliveryFailed;

        public Guid Id { get; } = id;

        public string Cursor { get; } = cursor;

        public int Count => _sends.Length;

        /// <summary>Whether a record handed to the producer failed delivery (not merely purged by an abort).</summary>
        public bool DeliveryFailed
        {
            get
            {
                lock (_reports)
                {
                    return _deliveryFailed;
                }
            }
        }

        public EventSend Add(int index, RecordedEvent recordedEvent, Message<byte[]?, byte[]> message) =>
            _sends[index] = new EventSend(this, recordedEvent, message, defaultType);

        /// <summary>A record is about to be handed to the producer: a delivery report (or a refusal) will follow.</summary>
        public void Handed()
        {
            lock (_reports)
            {
                _handed++;
            }
        }

        public void Reported(Error? error)
        {
            lock (_reports)
            {
                _deliveryFailed |= error is not null && error.Code is not (ErrorCode.Local_PurgeQueue or ErrorCode.Local_PurgeInflight);
                _reported++;
                Monitor.PulseAll(_reports);
            }
        }

        /// <summary>Waits for the delivery reports of the records handed over; they follow a commit or an abort at once.</summary>
        public void WaitForReports(TimeSpan timeout)
        {
            var started = Stopwatch.GetTimestamp();
            lock (_reports)
            {
                while (_reported < _handed && Stopwatch.GetElapsedTime(started) is var elapsed && elapsed < timeout)
                {
                    Monitor.Wait(_reports, timeout - elapsed);
                }
            }
        }

        /// <summary>The first event Kafka refused for good (for its own sake, not the transaction's), as the exception the pipeline parks it with.</summary>
        public KafkaPublishException? PermanentRefusal()
        {
            foreach (var send in _sends)
            {
                if (send?.Error is { } error && !error.IsFatal && !KafkaPublishException.IsTransientCode(error.Code)
                    && error.Code is not (ErrorCode.Local_PurgeQueue or ErrorCode.Local_PurgeInflight or ErrorCode.Local_State or ErrorCode.Local_Fenced or ErrorCode.InvalidTxnState))
                {
                    return new KafkaPublishException(send.Event.EventId, send.Event.Topic, error);
                }
            }

            return null;
        }

        /// <summary>Counts the records and ends their spans as acknowledged.</summary>
        public void Committed()
        {
            foreach (var send in _sends)
            {
                instruments.RecordsAcknowledged.Add(1, KafkaDiagnostics.Topic(send!.Event.Topic));
                if (send.Activity is { } activity)
                {
                    if (send.Report is { } report)
                    {
                        KafkaTracing.Acknowledged(activity, report.Partition, report.Offset);
                    }

                    KafkaTracing.Stop(activity);
                }
            }

            instruments.Transactions.Add(1, new KeyValuePair<string, object?>("outcome", "committed"));
        }

        /// <summary>Counts the records as failed and ends their spans with the reason.</summary>
        public void Failed(Exception reason)
        {
            foreach (var send in _sends)
            {
                if (send is null)
                {
                    continue;
                }

                instruments.PublishFailures.Add(1, KafkaDiagnostics.Topic(send.Event.Topic));
                if (send.Activity is { } activity)
                {
                    KafkaTracing.Failed(activity, send.Error?.Code.ToString() ?? reason.GetType().FullName!, reason, reason.Message);
                    KafkaTracing.Stop(activity);
                }
            }

            instruments.Transactions.Add(1, new KeyValuePair<string, object?>("outcome", reason is InstanceConflictException ? "fenced" : "aborted"));
        }
    }
}
