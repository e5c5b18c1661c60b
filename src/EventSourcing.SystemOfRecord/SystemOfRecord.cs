using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The system of record: records every event in a durable, time-bucketed store before it publishes it,
/// and replays any date range bucket by bucket. Thread-safe.
/// </summary>
public partial class SystemOfRecord : IDisposable, IAsyncDisposable
{
    // Publishes in flight during a republish: enough to keep a broker pipeline full, few enough to keep memory flat.
    private const int RepublishWindow = 1024;

    private readonly Action<DateTime>? _replayBucketStrategy;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TimeUuidGenerator _ids;
    private readonly long _incrementTicks;
    private readonly string _defaultTopic;
    private readonly int _maxMessageBytes;
    private readonly bool _ownsComponents;
    private readonly object _initializationGate = new();
    private Task? _initialization;
    private int _disposed;
    private PublishTracker? _tracker;
    private TimeSpan _publishTimeout = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// Creates a system of record on an in-memory store and an in-memory publisher with 15-second buckets,
    /// replaying through <paramref name="replayBucketStrategy"/>.
    /// </summary>
    /// <param name="replayBucketStrategy">Called by <see cref="ReplayDateRange(DateTime, DateTime)"/> with the start of each bucket.</param>
    /// <exception cref="ArgumentNullException"><paramref name="replayBucketStrategy"/> is null.</exception>
    public SystemOfRecord(Action<DateTime> replayBucketStrategy)
        : this(new InMemoryEventStore(), new InMemoryEventPublisher(), Options.Create(new SystemOfRecordOptions()),
            replayBucketStrategy ?? throw new ArgumentNullException(nameof(replayBucketStrategy)))
    {
        _ownsComponents = true;
    }

    /// <summary>Creates a system of record on the given store and publisher (the constructor dependency injection uses).</summary>
    /// <param name="store">The system of record's storage.</param>
    /// <param name="publisher">Where recorded events are published.</param>
    /// <param name="options">Bucket increment, default topic and limits; validated here.</param>
    /// <param name="replayBucketStrategy">
    /// Called by <see cref="ReplayDateRange(DateTime, DateTime)"/> with each bucket start; <see langword="null"/> republishes the buckets' events.
    /// </param>
    /// <param name="timeProvider">The clock event ids are taken from; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">The logger; none when null.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    public SystemOfRecord(
        IEventStore store,
        IEventPublisher publisher,
        IOptions<SystemOfRecordOptions> options,
        Action<DateTime>? replayBucketStrategy = null,
        TimeProvider? timeProvider = null,
        ILogger<SystemOfRecord>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(publisher);
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value ?? throw new ArgumentException("The options have no value.", nameof(options));
        settings.ThrowIfInvalid();

        Store = store;
        Publisher = publisher;
        BucketIncrement = settings.BucketIncrement;
        _incrementTicks = settings.BucketIncrement.Ticks;
        _defaultTopic = settings.DefaultTopic;
        _maxMessageBytes = settings.MaxMessageBytes;
        _replayBucketStrategy = replayBucketStrategy;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _ids = TimeUuidGenerator.For(_timeProvider);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The width of a time bucket.</summary>
    public TimeSpan BucketIncrement { get; }

    /// <summary>The store events are recorded in.</summary>
    public IEventStore Store { get; }

    /// <summary>The publisher recorded events are sent to.</summary>
    public IEventPublisher Publisher { get; }

    /// <summary>The start of the bucket that holds <paramref name="timestamp"/>: <c>t - (t mod increment)</c> from the Unix epoch, in UTC.</summary>
    /// <exception cref="ArgumentException"><paramref name="timestamp"/> has <see cref="DateTimeKind.Unspecified"/>.</exception>
    public DateTime GetBucket(DateTime timestamp) =>
        TimeBuckets.Floor(UtcTime.Normalize(timestamp, nameof(timestamp)), _incrementTicks);

    /// <summary>The start of the bucket that holds <paramref name="timestamp"/>, in UTC.</summary>
    public DateTime GetBucket(DateTimeOffset timestamp) => TimeBuckets.Floor(timestamp.UtcDateTime, _incrementTicks);

    /// <summary>
    /// Records an event, then publishes it. Blocks until both are done; prefer
    /// <see cref="AppendAsync(string, string?, string?, IReadOnlyDictionary{string, string}?, CancellationToken)"/>.
    /// </summary>
    /// <inheritdoc cref="AppendAsync(string, string?, string?, IReadOnlyDictionary{string, string}?, CancellationToken)"/>
    public RecordedEvent Append(string message, string? key = null, string? topic = null, IReadOnlyDictionary<string, string>? headers = null) =>
        Append(message, key, topic, headers, type: null, contentType: null);

    // Typed-event seam (typed-tracing): the append paths take the event's type and content type, which typed appends
    // (SystemOfRecord.Typed.cs) set; every append stores the W3C trace context of Activity.Current (see NewEvent).
    internal RecordedEvent Append(string message, string? key, string? topic, IReadOnlyDictionary<string, string>? headers, string? type, string? contentType)
    {
        // A path of its own rather than AppendAsync().GetResult(): this thread waits on the store's and the publisher's
        // tasks directly, so no continuation needs a free thread-pool thread (many blocking callers would starve the pool).
        var headerCopy = ValidateAppend(message, ref topic, headers);
        ThrowIfDisposed();
        Wait(EnsureInitializedAsync(CancellationToken.None));
        var recorded = NewEvent(topic, key, message, headerCopy, type, contentType);
        try
        {
            using (SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.append"))
            {
                Wait(Store.AppendAsync(recorded, CancellationToken.None));
            }
        }
        catch
        {
            _tracker?.Release(recorded.TimeBucket); // not recorded, so nothing to publish
            throw;
        }

        SystemOfRecordDiagnostics.EventsAppended.Add(1);
        try
        {
            if (_tracker is null)
            {
                Wait(Publisher.PublishAsync(recorded, CancellationToken.None));
            }
            else
            {
                PublishWithinTimeout(recorded);
            }
        }
        catch (Exception ex)
        {
            throw PublishFailed(recorded, ex);
        }

        Published(recorded);
        return recorded;
    }

    /// <summary>
    /// Records an event in the store and, once the store acknowledged it, publishes it.
    /// </summary>
    /// <param name="message">The payload.</param>
    /// <param name="key">The partitioning key, or <see langword="null"/>.</param>
    /// <param name="topic">The topic; <see cref="SystemOfRecordOptions.DefaultTopic"/> when null.</param>
    /// <param name="headers">Headers that travel with the event; copied.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The recorded event.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The topic is empty, the message is larger than <see cref="SystemOfRecordOptions.MaxMessageBytes"/>, or a header value is null.
    /// Nothing was written.
    /// </exception>
    /// <exception cref="EventPublishException">
    /// The event was recorded but publishing it failed (or was cancelled). It is safe: a replay of its bucket delivers it.
    /// </exception>
    public ValueTask<RecordedEvent> AppendAsync(
        string message,
        string? key = null,
        string? topic = null,
        IReadOnlyDictionary<string, string>? headers = null,
        CancellationToken cancellationToken = default) =>
        AppendAsync(message, key, topic, headers, type: null, contentType: null, cancellationToken);

    internal async ValueTask<RecordedEvent> AppendAsync(
        string message, string? key, string? topic, IReadOnlyDictionary<string, string>? headers, string? type, string? contentType, CancellationToken cancellationToken)
    {
        var recorded = await RecordAsync(message, key, topic, headers, type, contentType, cancellationToken).ConfigureAwait(false);
        try
        {
            if (_tracker is null)
            {
                await Publisher.PublishAsync(recorded, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await PublishWithinTimeoutAsync(recorded, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            throw PublishFailed(recorded, ex);
        }

        Published(recorded);
        return recorded;
    }

    /// <summary>
    /// Calls the replay strategy with the start of each bucket <c>b</c> from <c>GetBucket(start)</c> while <c>b &lt; end</c>,
    /// ascending. A bucket that starts at <paramref name="end"/> is not replayed; the bucket holding an unaligned end is.
    /// Without a custom strategy, republishes every stored event of those buckets.
    /// </summary>
    /// <exception cref="ArgumentException">A time has <see cref="DateTimeKind.Unspecified"/>, or <paramref name="start"/> is after <paramref name="end"/>.</exception>
    public void ReplayDateRange(DateTime start, DateTime end)
    {
        var (first, last) = NormalizeRange(start, end);
        if (_replayBucketStrategy is null)
        {
            RepublishCoreAsync(first, last, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            return;
        }

        ThrowIfDisposed();
        Log.ReplayStarted(_logger, first, last, "the custom strategy");
        long buckets = 0;
        for (var bucket = first; bucket < last; bucket = bucket.AddTicks(_incrementTicks))
        {
            _replayBucketStrategy(bucket);
            buckets++;
        }

        SystemOfRecordDiagnostics.BucketsReplayed.Add(buckets);
        Log.ReplayCompleted(_logger, buckets, first, last);
    }

    /// <inheritdoc cref="ReplayDateRange(DateTime, DateTime)"/>
    public void ReplayDateRange(DateTimeOffset start, DateTimeOffset end) => ReplayDateRange(start.UtcDateTime, end.UtcDateTime);

    /// <summary>
    /// Calls <paramref name="strategy"/> with the start of each bucket <c>b</c> from <c>GetBucket(start)</c> while <c>b &lt; end</c>,
    /// ascending, one bucket at a time.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="strategy"/> is null.</exception>
    /// <exception cref="ArgumentException">A time has <see cref="DateTimeKind.Unspecified"/>, or <paramref name="start"/> is after <paramref name="end"/>.</exception>
    public async Task ReplayDateRangeAsync(DateTime start, DateTime end, Func<DateTime, CancellationToken, ValueTask> strategy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        var (first, last) = NormalizeRange(start, end);
        ThrowIfDisposed();
        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.replay");
        Log.ReplayStarted(_logger, first, last, "a strategy");
        long buckets = 0;
        for (var bucket = first; bucket < last; bucket = bucket.AddTicks(_incrementTicks))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await strategy(bucket, cancellationToken).ConfigureAwait(false);
            buckets++;
        }

        SystemOfRecordDiagnostics.BucketsReplayed.Add(buckets);
        Log.ReplayCompleted(_logger, buckets, first, last);
    }

    /// <inheritdoc cref="ReplayDateRangeAsync(DateTime, DateTime, Func{DateTime, CancellationToken, ValueTask}, CancellationToken)"/>
    public Task ReplayDateRangeAsync(DateTimeOffset start, DateTimeOffset end, Func<DateTime, CancellationToken, ValueTask> strategy, CancellationToken cancellationToken = default) =>
        ReplayDateRangeAsync(start.UtcDateTime, end.UtcDateTime, strategy, cancellationToken);

    /// <summary>Streams the stored events of the bucket that holds <paramref name="bucket"/>, in event id order.</summary>
    /// <exception cref="ArgumentException"><paramref name="bucket"/> has <see cref="DateTimeKind.Unspecified"/>.</exception>
    public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default)
    {
        var aligned = GetBucket(bucket);
        ThrowIfDisposed();
        return ReadBucketCoreAsync(aligned, cancellationToken);
    }

    /// <inheritdoc cref="ReadBucketAsync(DateTime, CancellationToken)"/>
    public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTimeOffset bucket, CancellationToken cancellationToken = default) =>
        ReadBucketAsync(bucket.UtcDateTime, cancellationToken);

    /// <summary>
    /// Sends every stored event of every bucket in the range to the publisher again, in bucket and event id order.
    /// Streams: memory stays flat however large the range. Publishes are pipelined.
    /// </summary>
    /// <returns>How many events were republished.</returns>
    /// <exception cref="ArgumentException">A time has <see cref="DateTimeKind.Unspecified"/>, or <paramref name="start"/> is after <paramref name="end"/>.</exception>
    public Task<long> RepublishDateRangeAsync(DateTime start, DateTime end, CancellationToken cancellationToken = default)
    {
        var (first, last) = NormalizeRange(start, end);
        ThrowIfDisposed();
        return RepublishCoreAsync(first, last, cancellationToken).AsTask();
    }

    /// <inheritdoc cref="RepublishDateRangeAsync(DateTime, DateTime, CancellationToken)"/>
    public Task<long> RepublishDateRangeAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default) =>
        RepublishDateRangeAsync(start.UtcDateTime, end.UtcDateTime, cancellationToken);

    /// <summary>Disposes the store and publisher when this instance created them (the seed constructor).</summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc cref="Dispose()"/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_ownsComponents)
        {
            await DisposeComponentAsync(Publisher).ConfigureAwait(false);
            await DisposeComponentAsync(Store).ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    private async ValueTask<RecordedEvent> RecordAsync(
        string message, string? key, string? topic, IReadOnlyDictionary<string, string>? headers, string? type, string? contentType, CancellationToken cancellationToken)
    {
        var headerCopy = ValidateAppend(message, ref topic, headers);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);

        var recorded = NewEvent(topic, key, message, headerCopy, type, contentType);
        try
        {
            using (SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.append"))
            {
                await Store.AppendAsync(recorded, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            _tracker?.Release(recorded.TimeBucket); // not recorded, so nothing to publish
            throw;
        }

        SystemOfRecordDiagnostics.EventsAppended.Add(1);
        return recorded;
    }

    /// <summary>Checks an append's input before anything is written; returns a copy of the headers.</summary>
    private Dictionary<string, string>? ValidateAppend(string message, [NotNull] ref string? topic, IReadOnlyDictionary<string, string>? headers)
    {
        ArgumentNullException.ThrowIfNull(message);
        topic ??= _defaultTopic;
        if (string.IsNullOrWhiteSpace(topic))
        {
            ThrowHelper.ThrowArgument(nameof(topic), "The topic must not be empty; pass null for the default topic.");
        }

        if (message.Length > _maxMessageBytes / 3 && Encoding.UTF8.GetByteCount(message) > _maxMessageBytes)
        {
            ThrowHelper.ThrowArgument(nameof(message), $"The message is {Encoding.UTF8.GetByteCount(message)} UTF-8 bytes; the limit (SystemOfRecordOptions.MaxMessageBytes) is {_maxMessageBytes}.");
        }

        return CopyHeaders(headers);
    }

    /// <summary>A new event with the next id; with publish recovery on, the tracker issues the id so the watermark can never pass its bucket.</summary>
    /// <remarks>The event keeps the caller's W3C trace context, so its publishes and replays can link back to the trace that created it.</remarks>
    private RecordedEvent NewEvent(string topic, string? key, string message, Dictionary<string, string>? headers, string? type, string? contentType)
    {
        var (eventId, bucket) = _tracker?.Issue(_ids, _incrementTicks) ?? NextId();
        var creator = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current : null;
        return new RecordedEvent(bucket, eventId, topic, key, message, headers)
        {
            Type = type,
            ContentType = contentType,
            TraceParent = creator?.Id,
            TraceState = creator?.TraceStateString,
        };
    }

    private void Published(RecordedEvent recorded)
    {
        _tracker?.Release(recorded.TimeBucket);
        SystemOfRecordDiagnostics.EventsPublished.Add(1);
    }

    private EventPublishException PublishFailed(RecordedEvent recorded, Exception exception)
    {
        _tracker?.Defer(recorded.TimeBucket);
        SystemOfRecordDiagnostics.PublishFailures.Add(1);
        Log.PublishFailed(_logger, exception, recorded.EventId, recorded.TimeBucket);
        return new EventPublishException(recorded, exception, recoveryScheduled: _tracker is not null);
    }

    /// <summary>Blocks on <paramref name="pending"/>; a blocking wait on a task completes inline, needing no pool thread.</summary>
    private static void Wait(ValueTask pending)
    {
        if (pending.IsCompleted)
        {
            pending.GetAwaiter().GetResult();
        }
        else
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }

    private static void Wait(Task pending) => pending.GetAwaiter().GetResult();

    private (TimeUuid Id, DateTime Bucket) NextId()
    {
        var id = _ids.Next();
        return (id, TimeBuckets.Floor(id.GetTimestamp().UtcDateTime, _incrementTicks));
    }

    private void PublishWithinTimeout(RecordedEvent recorded)
    {
        using var timeout = new CancellationTokenSource(_publishTimeout, _timeProvider);
        var publish = Publisher.PublishAsync(recorded, timeout.Token).AsTask();
        if (!publish.IsCompleted)
        {
            try
            {
                publish.Wait(timeout.Token); // bounds the wait even for a publisher that ignores its token
            }
            catch (OperationCanceledException)
            {
            }
            catch (AggregateException)
            {
            }
        }

        try
        {
            if (!publish.IsCompleted)
            {
                throw new OperationCanceledException(timeout.Token);
            }

            publish.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw PublishTimedOut();
        }
    }

    private TimeoutException PublishTimedOut() =>
        new($"The publisher did not acknowledge the event within {_publishTimeout} (PublishRecoveryOptions.PublishTimeout).");

    private async ValueTask PublishWithinTimeoutAsync(RecordedEvent recorded, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_publishTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // WaitAsync bounds the wait even for a publisher that ignores its token.
            await Publisher.PublishAsync(recorded, linked.Token).AsTask().WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw PublishTimedOut();
        }
    }

    /// <summary>Turns on publish tracking for <see cref="PublishRecoveryService"/>: bounded publishes, deferred buckets.</summary>
    internal void EnablePublishRecovery(PublishTracker tracker, TimeSpan publishTimeout)
    {
        _publishTimeout = publishTimeout;
        _tracker = tracker;
    }

    private static Dictionary<string, string>? CopyHeaders(IReadOnlyDictionary<string, string>? headers)
    {
        if (headers is null || headers.Count == 0)
        {
            return null;
        }

        var copy = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            if (value is null)
            {
                ThrowHelper.ThrowArgument(nameof(headers), $"Header '{name}' has a null value.");
            }

            copy[name] = value;
        }

        return copy;
    }

    private async IAsyncEnumerable<RecordedEvent> ReadBucketCoreAsync(DateTime bucket, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var recorded in Store.ReadBucketAsync(bucket, cancellationToken).ConfigureAwait(false))
        {
            yield return recorded;
        }
    }

    internal async ValueTask<long> RepublishCoreAsync(DateTime first, DateTime end, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        using var activity = SystemOfRecordDiagnostics.ActivitySource.StartActivity("sor.republish");
        Log.ReplayStarted(_logger, first, end, "republish");

        // Publishes start in order (a broker keeps per-partition order of sends) and at most RepublishWindow are in flight.
        var inFlight = new Queue<ValueTask>(RepublishWindow);
        long count = 0;
        try
        {
            await foreach (var recorded in Store.ReadRangeAsync(first, end, cancellationToken).ConfigureAwait(false))
            {
                if (inFlight.Count == RepublishWindow)
                {
                    await inFlight.Dequeue().ConfigureAwait(false);
                }

                inFlight.Enqueue(Publisher.PublishAsync(recorded, cancellationToken));
                count++;
            }

            while (inFlight.Count > 0)
            {
                await inFlight.Dequeue().ConfigureAwait(false);
            }
        }
        finally
        {
            await DrainAsync(inFlight).ConfigureAwait(false);
        }

        SystemOfRecordDiagnostics.EventsPublished.Add(count);
        Log.RepublishCompleted(_logger, count, first, end);
        return count;
    }

    // After a failure, observe what is still in flight so no publish outlives the call unobserved.
    private static async ValueTask DrainAsync(Queue<ValueTask> inFlight)
    {
        while (inFlight.Count > 0)
        {
            try
            {
                await inFlight.Dequeue().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The first failure is already on its way to the caller.
            }
        }
    }

    private (DateTime First, DateTime End) NormalizeRange(DateTime start, DateTime end)
    {
        start = UtcTime.Normalize(start, nameof(start));
        end = UtcTime.Normalize(end, nameof(end));
        if (start > end)
        {
            ThrowHelper.ThrowArgument(nameof(start), $"The range starts ({start:O}) after it ends ({end:O}).");
        }

        return (TimeBuckets.Floor(start, _incrementTicks), end);
    }

    internal Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        var initialization = _initialization;
        if (initialization is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        lock (_initializationGate)
        {
            // A failed attempt (store unreachable, say) is retried by the next call.
            if (_initialization is null || _initialization.IsFaulted || _initialization.IsCanceled)
            {
                _initialization = InitializeAsync();
            }

            return _initialization.WaitAsync(cancellationToken);
        }
    }

    private async Task InitializeAsync()
    {
        await Store.EnsureCreatedAsync(BucketIncrement, CancellationToken.None).ConfigureAwait(false);
        Log.Ready(_logger, Store.GetType().Name, Publisher.GetType().Name, BucketIncrement);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private static async ValueTask DisposeComponentAsync(object component)
    {
        switch (component)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
