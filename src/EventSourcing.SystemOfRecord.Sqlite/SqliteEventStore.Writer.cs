using EventSourcing.SystemOfRecord.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite;

public sealed partial class SqliteEventStore
{
    // An event id already stored is replaced (an upsert, as Cassandra does): retrying an append is harmless.
    private const string InsertSql = """
        INSERT OR REPLACE INTO events (time_bucket, event_id, ts, topic, key, headers, type, content_type, instance, trace_parent, trace_state, message)
        VALUES ($time_bucket, $event_id, $ts, $topic, $key, $headers, $type, $content_type, $instance, $trace_parent, $trace_state, $message);
        """;

    // SQLite's primary result codes that one event's content can cause.
    private const int SqliteError = 1;
    private const int SqliteTooBig = 18;
    private const int SqliteConstraint = 19;
    private const int SqliteMismatch = 20;

    private SqliteConnection? _writeConnection;
    private SqliteCommand? _insert;
    private long _batchesStarted;
    private long _transactionsCommitted;
    private int _queued;

    /// <summary>Batches the writer has taken from the queue (for tests).</summary>
    internal long BatchesStarted => Interlocked.Read(ref _batchesStarted);

    /// <summary>Transactions the writer has committed (for tests: group commit shows as fewer commits than appends).</summary>
    internal long TransactionsCommitted => Interlocked.Read(ref _transactionsCommitted);

    /// <summary>Appends waiting in the queue, not yet taken by the writer (for tests).</summary>
    internal int QueuedAppends => Volatile.Read(ref _queued);

    /// <summary>Queues an append for the writer, starting the writer on the first one.</summary>
    private void Enqueue(PendingAppend pending)
    {
        lock (_pending)
        {
            if (_completed)
            {
                ThrowDisposed();
            }

            _pending.Enqueue(pending);
            Volatile.Write(ref _queued, _pending.Count);
            if (_writerThread is null)
            {
                // A thread of its own: the writer blocks in fsync, and it must keep going when callers that block
                // on Append have taken every thread-pool thread.
                _writerThread = new Thread(WriteLoop) { IsBackground = true, Name = "SqliteEventStore writer" };
                _writerThread.Start();
            }
            else
            {
                Monitor.Pulse(_pending);
            }
        }
    }

    /// <summary>Accepts no more appends; the writer drains what is queued, then exits.</summary>
    private void CompleteQueue()
    {
        lock (_pending)
        {
            _completed = true;
            if (_writerThread is null)
            {
                _writerExited.TrySetResult();
            }
            else
            {
                Monitor.Pulse(_pending);
            }
        }
    }

    /// <summary>Waits for queued appends and takes up to MaxBatchSize of them; false once the queue is completed and empty.</summary>
    private bool TakeBatch(List<PendingAppend> batch)
    {
        batch.Clear();
        lock (_pending)
        {
            while (true)
            {
                while (batch.Count < _options.MaxBatchSize && _pending.TryDequeue(out var pending))
                {
                    if (pending.TryTake())
                    {
                        batch.Add(pending);
                    }
                }

                Volatile.Write(ref _queued, _pending.Count);
                if (batch.Count > 0)
                {
                    return true;
                }

                if (_completed)
                {
                    return false;
                }

                Monitor.Wait(_pending);
            }
        }
    }

    /// <summary>
    /// The one writer: takes up to <see cref="SqliteStoreOptions.MaxBatchSize"/> queued appends, inserts them in one
    /// transaction, commits, then completes each caller's task. While it commits, new appends queue up for the next batch.
    /// Runs until the queue is completed (disposal) and drained. Never throws: an exception on this thread would end the process.
    /// </summary>
    private void WriteLoop()
    {
        var batch = new List<PendingAppend>(Math.Min(_options.MaxBatchSize, 1024));
        try
        {
            while (TakeBatch(batch))
            {
                Interlocked.Increment(ref _batchesStarted);
                try
                {
                    WriteBatch(batch);
                }
                catch (Exception ex)
                {
                    // WriteBatch completes every caller itself; this only guards the loop, so no append ever hangs.
                    foreach (var pending in batch)
                    {
                        pending.Completion.TrySetException(ex);
                    }
                }
            }
        }
        finally
        {
            CloseWriteConnection();
            _writerExited.TrySetResult();
        }
    }

    /// <summary>Writes a batch and completes every caller's task with the truth about its own event. Never throws.</summary>
    private void WriteBatch(List<PendingAppend> batch)
    {
        try
        {
            var schema = EnsureSchemaAsync(CancellationToken.None);
            if (!schema.IsCompletedSuccessfully)
            {
                schema.GetAwaiter().GetResult(); // once per store, when nothing called EnsureCreatedAsync first
            }

            InsertCommitted(batch, 0, batch.Count);
            foreach (var pending in batch)
            {
                pending.Completion.TrySetResult();
            }

            return;
        }
        catch (Exception ex)
        {
            // The transaction was rolled back: none of the batch is in the file.
            CloseWriteConnection();
            var error = ToStoreError(ex);
            if (batch.Count == 1 || ex is not SqliteException { SqliteErrorCode: var code } || !MayConcernOneEvent(code))
            {
                // One event, or an error of the whole database (locked, full, failing disk, no schema): every caller gets it.
                Log.BatchFailed(_logger, ex, batch.Count, _dataSource);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(error);
                }

                return;
            }

            // One bad event must not sink its neighbours: retry each alone so every caller learns its own outcome.
            Log.BatchFailedRetryingEach(_logger, ex, batch.Count, _dataSource);
        }

        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                InsertCommitted(batch, i, 1);
                batch[i].Completion.TrySetResult();
            }
            catch (Exception ex)
            {
                CloseWriteConnection();
                Log.AppendFailed(_logger, ex, batch[i].Event.EventId, _dataSource);
                batch[i].Completion.TrySetException(ToStoreError(ex));
            }
        }
    }

    /// <summary>
    /// Whether an error may come from one event of a batch (a constraint, a trigger, a value too big), so that the
    /// others are worth writing alone. Locks, a full disk, I/O errors and damage concern every event alike.
    /// </summary>
    private static bool MayConcernOneEvent(int sqliteErrorCode) =>
        sqliteErrorCode is SqliteError or SqliteTooBig or SqliteConstraint or SqliteMismatch;

    private Exception ToStoreError(Exception exception) => exception is SqliteException sqlite
        ? SqliteStoreException.From(sqlite, "Appending events", _dataSource)
        : exception;

    /// <summary>Inserts <paramref name="count"/> events from <paramref name="start"/> in one <c>BEGIN IMMEDIATE</c> transaction and commits it.</summary>
    private void InsertCommitted(List<PendingAppend> batch, int start, int count)
    {
        var insert = GetInsertCommand();
        var connection = insert.Connection!;
        WriteTransaction.Begin(connection);
        try
        {
            var parameters = insert.Parameters;
            for (var i = start; i < start + count; i++)
            {
                var pending = batch[i];
                var recorded = pending.Event;
                parameters[0].Value = UnixTicks.FromUtc(recorded.TimeBucket);
                parameters[1].Value = SortableEventId.Encode(recorded.EventId);
                parameters[2].Value = UnixTicks.FromUtc(recorded.Timestamp);
                parameters[3].Value = recorded.Topic;
                parameters[4].Value = (object?)recorded.Key ?? DBNull.Value;
                parameters[5].Value = (object?)pending.Headers ?? DBNull.Value;
                parameters[6].Value = (object?)recorded.Type ?? DBNull.Value;
                parameters[7].Value = (object?)recorded.ContentType ?? DBNull.Value;
                parameters[8].Value = (object?)recorded.Instance ?? DBNull.Value;
                parameters[9].Value = (object?)recorded.TraceParent ?? DBNull.Value;
                parameters[10].Value = (object?)recorded.TraceState ?? DBNull.Value;
                parameters[11].Value = recorded.Message;
                insert.ExecuteNonQuery();
            }

            WriteTransaction.Commit(connection);
        }
        catch
        {
            // Best effort, and never over the original error: after a failed COMMIT on a full disk SQLite has rolled back already.
            WriteTransaction.TryRollback(connection);
            throw;
        }

        Interlocked.Increment(ref _transactionsCommitted);
        _instruments.CommitSize.Record(count);
    }

    private SqliteCommand GetInsertCommand()
    {
        if (_insert is not null)
        {
            return _insert;
        }

        // The writer opens its connection synchronously: SQLite does no asynchronous I/O anyway.
        var connection = OpenConnectionAsync(CancellationToken.None, forWriter: true).AsTask().GetAwaiter().GetResult();
        var insert = connection.CreateCommand();
        insert.CommandText = InsertSql;
        insert.Parameters.Add("$time_bucket", SqliteType.Integer);
        insert.Parameters.Add("$event_id", SqliteType.Blob);
        insert.Parameters.Add("$ts", SqliteType.Integer);
        insert.Parameters.Add("$topic", SqliteType.Text);
        insert.Parameters.Add("$key", SqliteType.Text);
        insert.Parameters.Add("$headers", SqliteType.Text);
        insert.Parameters.Add("$type", SqliteType.Text);
        insert.Parameters.Add("$content_type", SqliteType.Text);
        insert.Parameters.Add("$instance", SqliteType.Text);
        insert.Parameters.Add("$trace_parent", SqliteType.Text);
        insert.Parameters.Add("$trace_state", SqliteType.Text);
        insert.Parameters.Add("$message", SqliteType.Text);
        _writeConnection = connection;
        _insert = insert;
        return insert;
    }

    /// <summary>
    /// Closes the writer's connection (it is not pooled, so its file handles go with it; SQLite rolls back anything still
    /// open). Never throws: it runs after failures and on the writer thread.
    /// </summary>
    private void CloseWriteConnection()
    {
        IDisposable?[] owned = [_insert, _writeConnection];
        _insert = null;
        _writeConnection = null;
        foreach (var disposable in owned)
        {
            try
            {
                disposable?.Dispose();
            }
            catch (Exception ex)
            {
                Log.CloseFailed(_logger, ex, _dataSource);
            }
        }
    }

    /// <summary>One append waiting for the writer.</summary>
    private sealed class PendingAppend(RecordedEvent recordedEvent, string? headers)
    {
        private const int Queued = 0;
        private const int Taken = 1;
        private const int Cancelled = 2;

        private int _state;

        public RecordedEvent Event { get; } = recordedEvent;

        public string? Headers { get; } = headers;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The writer takes the append; from then on cancellation no longer applies.</summary>
        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

        /// <summary>The caller cancels the append while it is still queued; the writer will skip it.</summary>
        public bool TryCancel() => Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued;
    }
}
