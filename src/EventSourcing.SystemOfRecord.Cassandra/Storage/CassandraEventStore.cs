using System.Diagnostics.Metrics;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>
/// The system of record in Apache Cassandra: an events table partitioned by time bucket (and optionally by shard),
/// clustered by event id; a metadata table that pins the bucket increment and shard count; and a bucket index
/// (one partition per day) so range reads skip empty buckets; and named checkpoints (<see cref="ICheckpointStore"/>).
/// Thread-safe; dispose it to close its connections.
/// </summary>
public sealed partial class CassandraEventStore : IEventStore, ICheckpointStore, IAsyncDisposable
{
    private readonly CqlCluster _cluster;
    private readonly ILogger _logger;
    private readonly CassandraStoreOptions _options;
    private readonly CassandraStatements _cql;
    private readonly ConcurrentDictionary<DateTime, byte> _indexedBuckets = new();
    private readonly TimeProvider _timeProvider;
    private readonly CassandraInstruments _instruments;
    private long _lastCheckpointTimestamp;

    /// <summary>Creates the store; nothing is connected until the first call.</summary>
    /// <param name="options">Where the store lives; validated here.</param>
    /// <param name="timeProvider">The clock for back-off delays; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">The logger; none when null.</param>
    /// <param name="meterFactory">Makes the <c>EventSourcing.SystemOfRecord</c> meter (dependency injection passes the container's); a process-wide meter when null.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    public CassandraEventStore(IOptions<CassandraStoreOptions> options, TimeProvider? timeProvider = null, ILogger<CassandraEventStore>? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value ?? throw new ArgumentException("The options have no value.", nameof(options));
        CassandraStoreOptionsValidator.ThrowIfInvalid(settings);
        _options = settings;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _cql = new CassandraStatements(settings.Keyspace, settings.Table, settings.ShardCount);
        _instruments = CassandraInstruments.For(meterFactory);
        _cluster = new CqlCluster(
            settings.ToClientSettings(_timeProvider, _instruments),
            _logger);
    }

    /// <inheritdoc />
    /// <remarks>
    /// With <see cref="CassandraStoreOptions.CreateSchema"/> on, creates the keyspace and tables if they do not exist, and adds
    /// the columns later releases introduced to an events table created by an earlier one.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bucketIncrement"/> is not a positive whole number of milliseconds.</exception>
    /// <exception cref="BucketIncrementMismatchException">The store was created with another increment.</exception>
    /// <exception cref="InvalidOperationException">The store was created with another shard count, or its events table lacks columns and schema creation is off.</exception>
    /// <exception cref="CassandraException">The cluster refused a statement or could not be reached, after retries of transient errors.</exception>
    public async ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default)
    {
        var incrementMs = ToWholeMilliseconds(bucketIncrement);
        if (_options.CreateSchema)
        {
            foreach (var ddl in _cql.Schema(_options.Replication))
            {
                var result = await _cluster.ExecuteAsync(Statement(ddl, [], prepare: false), cancellationToken).ConfigureAwait(false);
                if (result is SchemaChangeResult)
                {
                    await _cluster.WaitForSchemaAgreementAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        var stored = await ReadMetadataAsync(cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            // A conditional insert: of several processes creating the store at once, exactly one writes its settings.
            var insert = Statement(_cql.InsertMetadata, [_options.Table, incrementMs, _options.ShardCount]) with
            {
                SerialConsistency = _options.SerialConsistency,
            };
            await _cluster.ExecuteAsync(insert, cancellationToken).ConfigureAwait(false);
            stored = await ReadMetadataAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The settings of {_options.Keyspace}.{_options.Table} could not be recorded.");
        }

        var (storedIncrementMs, storedShards) = stored.Value;
        if (storedIncrementMs != incrementMs)
        {
            throw new BucketIncrementMismatchException(TimeSpan.FromMilliseconds(storedIncrementMs), bucketIncrement);
        }

        if (storedShards != _options.ShardCount)
        {
            throw new InvalidOperationException(
                $"The events table {_options.Keyspace}.{_options.Table} was created with {storedShards} shards but is opened with "
                + $"CassandraStoreOptions.ShardCount = {_options.ShardCount}. Set ShardCount to {storedShards}, or use a new table.");
        }

        await AddMissingEventColumnsAsync(cancellationToken).ConfigureAwait(false);
        Log.StoreReady(_logger, _options.Keyspace, _options.Table, bucketIncrement, _options.ShardCount);
    }

    /// <inheritdoc />
    /// <exception cref="CassandraException">The read failed, after retries of transient errors.</exception>
    public async ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default)
    {
        var stored = await ReadMetadataAsync(cancellationToken).ConfigureAwait(false);
        return stored is { } value ? TimeSpan.FromMilliseconds(value.IncrementMs) : null;
    }

    /// <inheritdoc />
    /// <remarks>
    /// One idempotent INSERT stamped with the event's own time, retried on transient errors (on another node when the
    /// connection failed). When every attempt failed, either nothing was written (<see cref="CassandraException"/>), or
    /// an attempt may have reached replicas (a write timeout, a connection lost or a client timeout after the INSERT went
    /// out): then the outcome is unknown and <see cref="IndeterminateAppendException"/> carries the event, which is in the
    /// store if and only if a replica applied it. A cancelled append may or may not have been applied either.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="recordedEvent"/> is null.</exception>
    /// <exception cref="IndeterminateAppendException">The write may or may not have been applied.</exception>
    /// <exception cref="CassandraException">The write failed and was not applied (the node refused it, or it never went out).</exception>
    public async ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        var bucket = recordedEvent.TimeBucket;
        using var activity = CassandraDiagnostics.ActivitySource.StartActivity("sor.cassandra.append");

        // The index entry goes first: an event is never stored in a bucket a range read would skip. An index entry
        // whose event write then fails only costs a read of an empty bucket.
        if (!_indexedBuckets.ContainsKey(bucket))
        {
            await _cluster.ExecuteAsync(Statement(_cql.InsertIndex, [DayOf(bucket), bucket]), cancellationToken).ConfigureAwait(false);
            if (_indexedBuckets.Count > 4096)
            {
                _indexedBuckets.Clear();
            }

            _indexedBuckets.TryAdd(bucket, 0);
        }

        var timestamp = recordedEvent.EventId.GetTimestamp();
        var values = new List<object?>(13) { bucket };
        if (_cql.Sharded)
        {
            values.Add(ShardOf(recordedEvent.EventId));
        }

        values.Add(recordedEvent.EventId);
        values.Add(timestamp);
        values.Add(recordedEvent.Message);
        values.Add(recordedEvent.Topic);
        values.Add(recordedEvent.Key ?? (object)CqlUnset.Value);
        values.Add(recordedEvent.Headers.Count == 0 ? CqlUnset.Value : recordedEvent.Headers);

        // Absent values stay unset rather than null: no tombstones for what was never there.
        values.Add(recordedEvent.Type ?? (object)CqlUnset.Value);
        values.Add(recordedEvent.ContentType ?? (object)CqlUnset.Value);
        values.Add(recordedEvent.Instance ?? (object)CqlUnset.Value);
        values.Add(recordedEvent.TraceParent ?? (object)CqlUnset.Value);
        values.Add(recordedEvent.TraceState ?? (object)CqlUnset.Value);

        // One INSERT is atomic and, with the write timestamp fixed to the event's time, idempotent: a retry after a
        // timeout writes the same cells again.
        var insert = Statement(_cql.InsertEvent, values) with
        {
            Timestamp = (timestamp.UtcTicks - DateTime.UnixEpoch.Ticks) / 10,
        };
        var attempts = new CqlAttempts();
        try
        {
            await _cluster.ExecuteAsync(insert, attempts, cancellationToken).ConfigureAwait(false);
        }
        catch (CassandraException ex) when (attempts.MayHaveBeenApplied)
        {
            // A write timeout, or a connection lost after the INSERT went out, on this attempt or an earlier one:
            // replicas may apply it yet. The publish pipeline looks for the event in the store and publishes it if so.
            _instruments.IndeterminateAppends.Add(1);
            Log.IndeterminateAppend(_logger, ex, recordedEvent.EventId, bucket);
            throw new IndeterminateAppendException(recordedEvent, ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>Pages are sized by bytes (<see cref="CassandraStoreOptions.MaxPageBytes"/>); each page is retried on its own.</remarks>
    /// <exception cref="ArgumentException"><paramref name="bucket"/> is <see cref="DateTimeKind.Unspecified"/>.</exception>
    /// <exception cref="CassandraException">A page could not be read, after retries of transient errors.</exception>
    public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default)
    {
        if (bucket.Kind == DateTimeKind.Unspecified)
        {
            throw new ArgumentException("The bucket must be a UTC or local time, not DateTimeKind.Unspecified.", nameof(bucket));
        }

        return ReadBucketCoreAsync(bucket.ToUniversalTime(), cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A bound is <see cref="DateTimeKind.Unspecified"/>.</exception>
    /// <exception cref="CassandraException">A page could not be read, after retries of transient errors.</exception>
    public IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, CancellationToken cancellationToken = default)
    {
        if (fromBucket.Kind == DateTimeKind.Unspecified || toExclusive.Kind == DateTimeKind.Unspecified)
        {
            throw new ArgumentException("The range must be given in UTC or local times, not DateTimeKind.Unspecified.", nameof(fromBucket));
        }

        return ReadRangeCoreAsync(fromBucket.ToUniversalTime(), toExclusive.ToUniversalTime(), cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    /// <exception cref="CassandraException">The read failed, after retries of transient errors.</exception>
    public async ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        try
        {
            await foreach (var row in _cluster.QueryAsync(Statement(_cql.SelectCheckpoint, [name]), cancellationToken).ConfigureAwait(false))
            {
                return row.GetOrDefault<string>("value");
            }

            return null;
        }
        catch (CassandraInvalidQueryException)
        {
            // The store was never created: nothing was ever written.
            return null;
        }
    }

    /// <inheritdoc />
    /// <remarks>An idempotent INSERT stamped with a strictly increasing time of this process, so its last write wins.</remarks>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="CassandraException">The write failed, after retries of transient errors; it may or may not have been applied.</exception>
    public async ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);

        var insert = Statement(_cql.InsertCheckpoint, [name, value]) with { Timestamp = NextCheckpointTimestamp() };
        await _cluster.ExecuteAsync(insert, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A lightweight transaction (Paxos) at <see cref="CassandraStoreOptions.SerialConsistency"/>: <c>INSERT ... IF NOT EXISTS</c>
    /// when <paramref name="expected"/> is null, <c>UPDATE ... IF value = ?</c>, or <c>DELETE ... IF value = ?</c> when
    /// <paramref name="value"/> is null. It is not retried: after a timeout (<see cref="CassandraWriteTimeoutException"/>
    /// with write type CAS, or <see cref="CassandraConnectionException"/>) it may or may not have taken effect; read the
    /// value to find out. The conditional write is stamped by the coordinator's clock, <see cref="WriteCheckpointAsync"/>
    /// by this process's: keep the clocks in sync when one name gets both.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    /// <exception cref="CassandraException">The cluster refused or did not confirm the transaction.</exception>
    public async ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (expected is null && value is null)
        {
            // Nothing to write: true when the name is absent, read at the serial consistency to see every committed transaction.
            var serialRead = new CqlStatement(_cql.SelectCheckpoint, [name], _options.SerialConsistency);
            await foreach (var _ in _cluster.QueryAsync(serialRead, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            return true;
        }

        var (cql, values) = (expected, value) switch
        {
            (null, _) => (_cql.InsertCheckpointIfAbsent, new object?[] { name, value }),
            (_, null) => (_cql.DeleteCheckpointIf, new object?[] { name, expected }),
            _ => (_cql.UpdateCheckpointIf, new object?[] { value, name, expected }),
        };
        var statement = new CqlStatement(cql, values, _options.Consistency, IsIdempotent: false) { SerialConsistency = _options.SerialConsistency };
        var result = await _cluster.ExecuteAsync(statement, cancellationToken).ConfigureAwait(false);
        return result is RowsResult { Rows.Count: 1 } rows && rows.Rows[0]["[applied]"] is bool applied
            ? applied
            : throw new CassandraProtocolException($"A conditional write on {_options.Keyspace}.{_options.Table}_checkpoints did not answer with an [applied] column.");
    }

    /// <inheritdoc />
    /// <remarks>A plain DELETE stamped like <see cref="WriteCheckpointAsync"/>, so that a later write by this process wins over it.</remarks>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    /// <exception cref="CassandraException">The cluster refused or did not confirm the delete, after retries of transient errors.</exception>
    public async ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var delete = Statement(_cql.DeleteCheckpoint, [name]) with { Timestamp = NextCheckpointTimestamp() };
        await _cluster.ExecuteAsync(delete, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The checkpoints table holds a handful of rows (cursors, leases, replay progress): it is read whole, page by page,
    /// filtered by prefix and sorted ordinally here.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="prefix"/> is null.</exception>
    /// <exception cref="CassandraException">The read failed, after retries of transient errors.</exception>
    public IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return ReadCheckpointsCoreAsync(prefix, cancellationToken);
    }

    /// <summary>Closes the connections to the cluster, every node's even if one fails to close. Does not throw.</summary>
    /// <returns>A task that completes when the connections are closed.</returns>
    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    internal static DateTime DayOf(DateTime bucket) => new(bucket.Ticks - (bucket.Ticks % TimeSpan.TicksPerDay), DateTimeKind.Utc);

    /// <summary>
    /// Cassandra keeps the cell with the highest write timestamp: a strictly increasing client timestamp makes the last
    /// write (or delete) of this process win, and a retry of the same write idempotent.
    /// </summary>
    private long NextCheckpointTimestamp()
    {
        var now = (_timeProvider.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
        long timestamp;
        long last;
        do
        {
            last = Interlocked.Read(ref _lastCheckpointTimestamp);
            timestamp = Math.Max(now, last + 1);
        }
        while (Interlocked.CompareExchange(ref _lastCheckpointTimestamp, timestamp, last) != last);

        return timestamp;
    }

    private async IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsCoreAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var matching = new List<KeyValuePair<string, string>>();
        try
        {
            await foreach (var row in _cluster.QueryAsync(Statement(_cql.SelectCheckpoints, []) with { PageSize = 1000 }, cancellationToken).ConfigureAwait(false))
            {
                if (row.GetOrDefault<string>("name") is { } name && name.StartsWith(prefix, StringComparison.Ordinal) && row.GetOrDefault<string>("value") is { } value)
                {
                    matching.Add(new(name, value));
                }
            }
        }
        catch (CassandraInvalidQueryException)
        {
            // The store was never created: there are no checkpoints.
        }

        matching.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var checkpoint in matching)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return checkpoint;
        }
    }

    /// <summary>
    /// Events tables created before <see cref="CassandraStatements.AddedEventColumns"/> existed get them (ALTER TABLE ... ADD,
    /// once per column, safe when several processes do it at once); existing rows read them as null.
    /// </summary>
    private async Task AddMissingEventColumnsAsync(CancellationToken cancellationToken)
    {
        var missing = await MissingEventColumnsAsync(cancellationToken).ConfigureAwait(false);
        if (missing.Count == 0)
        {
            return;
        }

        if (!_options.CreateSchema)
        {
            throw new InvalidOperationException(
                $"The events table {_options.Keyspace}.{_options.Table} lacks the columns {string.Join(", ", missing)}, and CassandraStoreOptions.CreateSchema is off. "
                + "Run: " + string.Join("; ", missing.Select(c => _cql.AddEventColumn[c])) + ".");
        }

        foreach (var column in missing)
        {
            try
            {
                await _cluster.ExecuteAsync(Statement(_cql.AddEventColumn[column], [], prepare: false), cancellationToken).ConfigureAwait(false);
            }
            catch (CassandraInvalidQueryException)
            {
                // Fine when another process added it first; anything else is the error it says.
                if ((await MissingEventColumnsAsync(cancellationToken).ConfigureAwait(false)).Contains(column))
                {
                    throw;
                }
            }
        }

        await _cluster.WaitForSchemaAgreementAsync(cancellationToken).ConfigureAwait(false);
        Log.EventColumnsAdded(_logger, _options.Keyspace, _options.Table, string.Join(", ", missing));
    }

    private async Task<List<string>> MissingEventColumnsAsync(CancellationToken cancellationToken)
    {
        var (keyspace, table) = _cql.SchemaNames;
        var present = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in _cluster.QueryAsync(Statement(_cql.SelectEventColumns, [keyspace, table], prepare: false), cancellationToken).ConfigureAwait(false))
        {
            if (row.GetOrDefault<string>("column_name") is { } name)
            {
                present.Add(name);
            }
        }

        // No rows at all: the schema tables cannot be read here (no permission, or not Cassandra); leave the table as it is.
        return present.Count == 0 ? [] : [.. CassandraStatements.AddedEventColumns.Where(c => !present.Contains(c))];
    }

    private int ShardOf(TimeUuid eventId)
    {
        // FNV-1a over the id: stable across processes, so a retried write lands in the same partition.
        Span<byte> bytes = stackalloc byte[TimeUuid.Size];
        eventId.TryWriteBytes(bytes);
        var hash = 2166136261u;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % (uint)_options.ShardCount);
    }

    private async IAsyncEnumerable<RecordedEvent> ReadRangeCoreAsync(DateTime from, DateTime toExclusive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // One index query per day lists the day's non-empty buckets; only those are read.
        for (var day = DayOf(from); day < toExclusive; day = day.AddDays(1))
        {
            var buckets = new List<DateTime>();
            var query = Statement(_cql.SelectIndex, [day, from, toExclusive]) with { PageSize = _options.PageSize };
            await foreach (var row in _cluster.QueryAsync(query, cancellationToken).ConfigureAwait(false))
            {
                buckets.Add(row.Get<DateTime>("time_bucket"));
            }

            foreach (var bucket in buckets)
            {
                await foreach (var recorded in ReadBucketCoreAsync(bucket, cancellationToken).ConfigureAwait(false))
                {
                    yield return recorded;
                }
            }
        }
    }

    private async IAsyncEnumerable<RecordedEvent> ReadBucketCoreAsync(DateTime bucket, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var activity = CassandraDiagnostics.ActivitySource.StartActivity("sor.cassandra.read_bucket");
        activity?.SetTag("sor.bucket", bucket.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        long count = 0;
        var events = _cql.Sharded ? MergeShardsAsync(bucket, cancellationToken) : ReadPartitionAsync(bucket, null, cancellationToken);
        await foreach (var recorded in events.ConfigureAwait(false))
        {
            if (++count == _options.LargeBucketThreshold + 1)
            {
                _instruments.LargeBuckets.Add(1);
                Log.LargeBucket(_logger, bucket, _options.LargeBucketThreshold, _options.Keyspace, _options.Table);
            }

            yield return recorded;
        }
    }

    private async IAsyncEnumerable<RecordedEvent> ReadPartitionAsync(DateTime bucket, int? shard, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = Statement(_cql.SelectBucket, shard is { } s ? [bucket, s] : [bucket]);
        await foreach (var row in _cluster.QueryByBytesAsync(query, _options.PageSize, _options.MaxPageBytes, cancellationToken).ConfigureAwait(false))
        {
            yield return ToEvent(bucket, row);
        }
    }

    /// <summary>A k-way merge of the bucket's shards, each streamed page by page, in event id order.</summary>
    private async IAsyncEnumerable<RecordedEvent> MergeShardsAsync(DateTime bucket, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var shards = new IAsyncEnumerator<RecordedEvent>?[_options.ShardCount];
        try
        {
            for (var i = 0; i < shards.Length; i++)
            {
                var shard = ReadPartitionAsync(bucket, i, cancellationToken).GetAsyncEnumerator(cancellationToken);
                shards[i] = await shard.MoveNextAsync().ConfigureAwait(false) ? shard : null;
                if (shards[i] is null)
                {
                    await shard.DisposeAsync().ConfigureAwait(false);
                }
            }

            while (true)
            {
                var smallest = -1;
                for (var i = 0; i < shards.Length; i++)
                {
                    if (shards[i] is { } candidate && (smallest < 0 || candidate.Current.EventId < shards[smallest]!.Current.EventId))
                    {
                        smallest = i;
                    }
                }

                if (smallest < 0)
                {
                    yield break;
                }

                var next = shards[smallest]!;
                yield return next.Current;
                if (!await next.MoveNextAsync().ConfigureAwait(false))
                {
                    await next.DisposeAsync().ConfigureAwait(false);
                    shards[smallest] = null;
                }
            }
        }
        finally
        {
            foreach (var shard in shards)
            {
                if (shard is not null)
                {
                    await shard.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private static RecordedEvent ToEvent(DateTime bucket, CqlRow row)
    {
        Dictionary<string, string>? headers = null;
        if (row["headers"] is Dictionary<object, object?> map && map.Count > 0)
        {
            headers = new Dictionary<string, string>(map.Count, StringComparer.Ordinal);
            foreach (var (name, value) in map)
            {
                headers[(string)name] = (string?)value ?? string.Empty;
            }
        }

        return new RecordedEvent(
            bucket,
            row.Get<TimeUuid>("event_id"),
            row.GetOrDefault<string>("topic") ?? string.Empty,
            row.GetOrDefault<string>("key"),
            row.GetOrDefault<string>("message") ?? string.Empty,
            headers)
        {
            Type = row.GetOrDefault<string>("type"),
            ContentType = row.GetOrDefault<string>("content_type"),
            Instance = row.GetOrDefault<string>("instance"),
            TraceParent = row.GetOrDefault<string>("traceparent"),
            TraceState = row.GetOrDefault<string>("tracestate"),
        };
    }

    private async ValueTask<(long IncrementMs, int Shards)?> ReadMetadataAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var row in _cluster.QueryAsync(Statement(_cql.SelectMetadata, [_options.Table]), cancellationToken).ConfigureAwait(false))
            {
                return (row.Get<long>("bucket_increment_ms"), row.Get<int>("shard_count"));
            }

            return null;
        }
        catch (CassandraInvalidQueryException)
        {
            // No keyspace or no metadata table yet: the store was never created.
            return null;
        }
    }

    private CqlStatement Statement(string cql, IReadOnlyList<object?> values, bool prepare = true) =>
        new(cql, values, _options.Consistency, IsIdempotent: true, Prepare: prepare);

    private static long ToWholeMilliseconds(TimeSpan increment)
    {
        if (increment <= TimeSpan.Zero || increment.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(increment), increment, "The Cassandra store needs a positive bucket increment of whole milliseconds.");
        }

        return increment.Ticks / TimeSpan.TicksPerMillisecond;
    }
}
