using EventSourcing.SystemOfRecord.Sqlite.Internal;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite;

public sealed partial class SqliteEventStore
{
    private const string InsertSql = """
        INSERT OR REPLACE INTO events (time_bucket, event_id, ts, message, topic, key, headers)
        VALUES ($time_bucket, $event_id, $ts, $message, $topic, $key, $headers);
        """;

    // SQLITE_BUSY and SQLITE_LOCKED: another connection held the lock past the busy timeout. Nothing was written.
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

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
    /// Runs until the queue is completed (disposal) and drained.
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
            if (batch.Count == 1 || ex is not SqliteException { SqliteErrorCode: not (SqliteBusy or SqliteLocked) })
            {
                // One event, a lock held past the busy timeout, or no schema: retrying each would only repeat the wait.
                Log.BatchFailed(_logger, ex, batch.Count, _dataSource);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(ex);
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
                batch[i].Completion.TrySetException(ex);
            }
        }
    }

    /// <summary>Inserts <paramref name="count"/> events from <paramref name="start"/> in one <c>BEGIN IMMEDIATE</c> transaction and commits it.</summary>
    private void InsertCommitted(List<PendingAppend> batch, int start, int count)
    {
        var insert = GetInsertCommand();
        var connection = insert.Connection!;
        var transaction = connection.BeginTransaction(deferred: false);
        try
        {
            insert.Transaction = transaction;
            var parameters = insert.Parameters;
            for (var i = start; i < start + count; i++)
            {
                var pending = batch[i];
                var recorded = pending.Event;
                parameters[0].Value = UnixTicks.FromUtc(recorded.TimeBucket);
                parameters[1].Value = SortableEventId.Encode(recorded.EventId);
                parameters[2].Value = UnixTicks.FromUtc(recorded.Timestamp);
                parameters[3].Value = recorded.Message;
                parameters[4].Value = recorded.Topic;
                parameters[5].Value = (object?)recorded.Key ?? DBNull.Value;
                parameters[6].Value = (object?)pending.Headers ?? DBNull.Value;
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        catch
        {
            TryRollback(transaction);
            throw;
        }
        finally
        {
            insert.Transaction = null;
            transaction.Dispose();
        }

        Interlocked.Increment(ref _transactionsCommitted);
        SqliteDiagnostics.CommitSize.Record(count);
    }

    private SqliteCommand GetInsertCommand()
    {
        if (_insert is not null)
        {
            return _insert;
        }

        // The writer opens its connection synchronously: SQLite does no asynchronous I/O anyway.
        var connection = OpenConnectionAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var insert = connection.CreateCommand();
        insert.CommandText = InsertSql;
        insert.Parameters.Add("$time_bucket", SqliteType.Integer);
        insert.Parameters.Add("$event_id", SqliteType.Blob);
        insert.Parameters.Add("$ts", SqliteType.Integer);
        insert.Parameters.Add("$message", SqliteType.Text);
        insert.Parameters.Add("$topic", SqliteType.Text);
        insert.Parameters.Add("$key", SqliteType.Text);
        insert.Parameters.Add("$headers", SqliteType.Text);
        _writeConnection = connection;
        _insert = insert;
        return insert;
    }

    private static void TryRollback(SqliteTransaction transaction)
    {
        try
        {
            transaction.Rollback();
        }
        catch (Exception)
        {
            // SQLite already rolled back (it does after some errors), or the connection is gone: either way nothing was committed.
        }
    }

    private void CloseWriteConnection()
    {
        _insert?.Dispose();
        _insert = null;
        _writeConnection?.Dispose();
        _writeConnection = null;
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
