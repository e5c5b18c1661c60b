using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// The system of record: records every event in a durable, time-bucketed store before it publishes it, and replays any
/// date range bucket by bucket. A thin front door over its engines: the appender, the publish pipeline (the only code
/// that calls the publisher), managed replays, reloads and reconciliations. Thread-safe.
/// </summary>
public sealed partial class SystemOfRecord : IDisposable, IAsyncDisposable
{
    private readonly Action<DateTime>? _replayBucketStrategy;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly long _incrementTicks;
    private readonly AppendValidator _validator;
    private readonly PublishPipeline _pipeline;
    private readonly EventAppender _appender;
    private readonly SystemOfRecordMetrics _metrics;
    private readonly bool _ownsComponents;
    private readonly object _initializationGate = new();
    private Task? _initialization;
    private int _disposed;

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
    /// <param name="options">Bucket increment, default topic, limits, instance name and publish mode; validated here.</param>
    /// <param name="replayBucketStrategy">
    /// Called by <see cref="ReplayDateRange(DateTime, DateTime)"/> with each bucket start; <see langword="null"/> republishes the buckets' events.
    /// </param>
    /// <param name="timeProvider">The clock event ids are taken from; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">The logger; none when null.</param>
    /// <param name="publishRecovery">
    /// Publish recovery (the publish cursor, a lease on the instance name and the catch-up after a crash, kept in the
    /// store, which must implement <see cref="ICheckpointStore"/>); none when null, as without <c>WithPublishRecovery()</c>.
    /// </param>
    /// <param name="meterFactory">Makes the <c>EventSourcing.SystemOfRecord</c> meter (dependency injection passes the container's); a process-wide meter when null.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names every bad setting.</exception>
    public SystemOfRecord(
        IEventStore store,
        IEventPublisher publisher,
        IOptions<SystemOfRecordOptions> options,
        Action<DateTime>? replayBucketStrategy = null,
        TimeProvider? timeProvider = null,
        ILogger<SystemOfRecord>? logger = null,
        PublishRecoveryOptions? publishRecovery = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(publisher);
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value ?? throw new ArgumentException("The options have no value.", nameof(options));
        settings.ThrowIfInvalid();
        publishRecovery?.ThrowIfInvalid();

        Store = store;
        Publisher = publisher;
        BucketIncrement = settings.BucketIncrement;
        InstanceName = settings.InstanceName;
        PublishMode = settings.PublishMode;
        _incrementTicks = settings.BucketIncrement.Ticks;
        _replayBucketStrategy = replayBucketStrategy;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _metrics = SystemOfRecordMetrics.For(meterFactory);
        _validator = new AppendValidator(settings.DefaultTopic, settings.MaxMessageBytes, publisher.Limits ?? PublishLimits.None);
        _pipeline = new PublishPipeline(
            store,
            publisher,
            new PublishPipelineSettings
            {
                InstanceName = settings.InstanceName,
                Mode = settings.PublishMode,
                MaxInFlight = settings.MaxPublishesInFlight,
                AppendTimeout = publishRecovery?.PublishTimeout ?? Timeout.InfiniteTimeSpan,
                Recovery = publishRecovery,
                MaxBackoff = publishRecovery?.RecoveryAttemptTimeout ?? PublishPipelineSettings.DefaultMaxBackoff,
            },
            TimeUuidGenerator.For(_timeProvider),
            _incrementTicks,
            _timeProvider,
            _logger,
            _metrics);
        _appender = new EventAppender(store, _pipeline, settings.PublishMode, settings.InstanceName, _incrementTicks, _timeProvider, _metrics);
    }

    /// <summary>The width of a time bucket.</summary>
    public TimeSpan BucketIncrement { get; }

    /// <summary>This instance's name (<see cref="SystemOfRecordOptions.InstanceName"/>), stored with every event it appends.</summary>
    public string InstanceName { get; }

    /// <summary>When <c>AppendAsync</c> returns (<see cref="SystemOfRecordOptions.PublishMode"/>).</summary>
    public PublishMode PublishMode { get; }

    /// <summary>The store events are recorded in.</summary>
    public IEventStore Store { get; }

    /// <summary>The publisher recorded events are sent to.</summary>
    public IEventPublisher Publisher { get; }

    /// <summary>The start of the bucket that holds <paramref name="timestamp"/>: <c>t - (t mod increment)</c> from the Unix epoch, in UTC.</summary>
    /// <exception cref="ArgumentException"><paramref name="timestamp"/> has <see cref="DateTimeKind.Unspecified"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The bucket would start before <see cref="DateTime.MinValue"/>.</exception>
    public DateTime GetBucket(DateTime timestamp) =>
        TimeBuckets.Floor(UtcTime.Normalize(timestamp, nameof(timestamp)), _incrementTicks, nameof(timestamp));

    /// <summary>The start of the bucket that holds <paramref name="timestamp"/>, in UTC.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The bucket would start before <see cref="DateTime.MinValue"/>.</exception>
    public DateTime GetBucket(DateTimeOffset timestamp) => TimeBuckets.Floor(timestamp.UtcDateTime, _incrementTicks, nameof(timestamp));

    /// <summary>
    /// Records an event, then (in <see cref="PublishMode.Acknowledged"/>) waits for its publish. Blocks until done; prefer
    /// <see cref="AppendAsync(string, string?, string?, IReadOnlyDictionary{string, string}?, CancellationToken)"/>.
    /// </summary>
    /// <inheritdoc cref="AppendAsync(string, string?, string?, IReadOnlyDictionary{string, string}?, CancellationToken)"/>
    public RecordedEvent Append(string message, string? key = null, string? topic = null, IReadOnlyDictionary<string, string>? headers = null) =>
        AppendBlocking(_validator.Validate(message, key, topic, headers));

    /// <summary>
    /// Records an event in the store and hands it to the publish pipeline. In <see cref="PublishMode.Acknowledged"/> (the
    /// default) returns once the publisher acknowledged it; in <see cref="PublishMode.Committed"/>, once the store committed it.
    /// </summary>
    /// <param name="message">The payload.</param>
    /// <param name="key">The partitioning key, or <see langword="null"/>.</param>
    /// <param name="topic">The topic; <see cref="SystemOfRecordOptions.DefaultTopic"/> when null.</param>
    /// <param name="headers">Headers that travel with the event; copied.</param>
    /// <param name="cancellationToken">Cancels the call; an append cancelled before its write completed wrote nothing.</param>
    /// <returns>The recorded event.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The topic breaks Kafka's naming rule, the message is larger than <see cref="SystemOfRecordOptions.MaxMessageBytes"/>,
    /// the record is larger than the publisher takes (<see cref="IEventPublisher.Limits"/>), a text holds a lone UTF-16
    /// surrogate, or a header name is empty or reserved, or a value null. Nothing was written.
    /// </exception>
    /// <exception cref="EventPublishException">
    /// <see cref="PublishMode.Acknowledged"/> only: the event was recorded but its publish failed, was refused, or did not
    /// finish within the publish timeout. It is safe: see <see cref="EventPublishException.RecoveryScheduled"/>.
    /// </exception>
    /// <exception cref="IndeterminateAppendException">The store could not confirm the write; the pipeline publishes the event if it was recorded.</exception>
    /// <exception cref="InstanceConflictException">Another live process holds this instance's name.</exception>
    public ValueTask<RecordedEvent> AppendAsync(
        string message,
        string? key = null,
        string? topic = null,
        IReadOnlyDictionary<string, string>? headers = null,
        CancellationToken cancellationToken = default) =>
        AppendCoreAsync(_validator.Validate(message, key, topic, headers), cancellationToken);

    /// <summary>
    /// Completes when <paramref name="recordedEvent"/>, appended by this instance, is published: the publish pipeline's
    /// cursor passed it. For <see cref="PublishMode.Committed"/> callers who want to wait for one event.
    /// </summary>
    /// <param name="recordedEvent">An event this instance appended.</param>
    /// <param name="cancellationToken">Stops waiting; the publish goes on.</param>
    /// <exception cref="ArgumentNullException"><paramref name="recordedEvent"/> is null.</exception>
    /// <exception cref="ArgumentException">Another instance appended the event: only its own pipeline publishes it.</exception>
    /// <exception cref="EventPublishException">
    /// The publisher refused the event for good (it is parked); or the system of record was
    /// disposed (or fenced) while waiting, the event still unpublished (<see cref="EventPublishException.RecoveryScheduled"/>
    /// says whether publish recovery publishes it after a restart).
    /// </exception>
    public async Task WhenPublishedAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        if (recordedEvent.Instance != InstanceName)
        {
            ThrowHelper.ThrowArgument(nameof(recordedEvent), $"Event {recordedEvent.EventId} was appended by instance '{recordedEvent.Instance}', not '{InstanceName}': only that instance's pipeline publishes it.");
        }

        ThrowIfDisposed();
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await _pipeline.WhenPublishedAsync(recordedEvent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates the store's schema and starts the publish pipeline now rather than on first use: with publish recovery, takes
    /// this instance's lease (waiting out a dead holder's) and starts the catch-up on what the last run left unpublished.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; the start goes on and the next call waits for it again.</param>
    /// <exception cref="InstanceConflictException">Another live process holds this instance's name.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return EnsureInitializedAsync(cancellationToken);
    }

    /// <summary>
    /// The publish cursors of every instance that keeps one in this store (publish recovery): where each pipeline stands,
    /// whether its holder let go. For operators, and to see which instance needs taking over.
    /// </summary>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <exception cref="NotSupportedException">The store does not implement <see cref="ICheckpointStore"/>.</exception>
    public async IAsyncEnumerable<PublishCursorInfo> GetPublishCursorsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var checkpoints = CheckpointStore("Publish cursors");
        ThrowIfDisposed();
        await foreach (var (name, value) in checkpoints.ReadCheckpointsAsync(PublishCursorRecord.NamePrefix, cancellationToken).ConfigureAwait(false))
        {
            yield return PublishCursorInfo.From(name[PublishCursorRecord.NamePrefix.Length..], PublishCursorRecord.Parse(name, value));
        }
    }

    /// <summary>The events the pipeline of <paramref name="instanceName"/> parked, as the store keeps them (publish recovery).</summary>
    /// <param name="instanceName">Any instance writing to this store.</param>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <exception cref="ArgumentException"><paramref name="instanceName"/> is not a valid instance name.</exception>
    /// <exception cref="NotSupportedException">The store does not implement <see cref="ICheckpointStore"/>.</exception>
    public async IAsyncEnumerable<ParkedEvent> GetParkedEventsAsync(string instanceName, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!SystemOfRecordOptions.IsValidInstanceName(instanceName))
        {
            ThrowHelper.ThrowArgument(nameof(instanceName), $"'{instanceName}' is not an instance name (1 to {SystemOfRecordOptions.MaxInstanceNameLength} letters, digits, '.', '_' or '-').");
        }

        var checkpoints = CheckpointStore("Parked events");
        ThrowIfDisposed();
        await foreach (var (name, value) in checkpoints.ReadCheckpointsAsync(ParkedEvent.CheckpointPrefix(instanceName), cancellationToken).ConfigureAwait(false))
        {
            if (ParkedEvent.FromCheckpoint(name, value) is { } parked)
            {
                yield return parked;
            }
        }
    }

    /// <summary>What this instance's publish pipeline is doing: its cursor, lag, events in flight, backlog and parked count.</summary>
    public PublishStatus GetPublishStatus() => _pipeline.Status();

    /// <summary>
    /// The events this instance's publisher refused for good and the pipeline parked (kept in the store with publish
    /// recovery, in memory without). Republish their buckets once the cause is fixed.
    /// </summary>
    /// <param name="cancellationToken">Stops the stream.</param>
    public IAsyncEnumerable<ParkedEvent> GetParkedEventsAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _pipeline.ParkedEventsAsync(cancellationToken);
    }

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
    /// Stops the publish pipeline (what is committed gets a few seconds to be published; with publish recovery the rest
    /// is published by the next start) and disposes the store and publisher when this instance created them (the seed constructor).
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc cref="Dispose()"/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _pipeline.DisposeAsync().ConfigureAwait(false);
        if (_ownsComponents)
        {
            await DisposeComponentAsync(Publisher).ConfigureAwait(false);
            await DisposeComponentAsync(Store).ConfigureAwait(false);
        }
    }

    /// <summary>Creates the store's schema and starts the publish pipeline once (a failed attempt is retried by the next call).</summary>
    internal Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        var initialization = _initialization;
        if (initialization is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        lock (_initializationGate)
        {
            if (_initialization is null || _initialization.IsFaulted || _initialization.IsCanceled)
            {
                _initialization = InitializeAsync();
            }

            return _initialization.WaitAsync(cancellationToken);
        }
    }

    private RecordedEvent AppendBlocking(AppendRequest request)
    {
        ThrowIfDisposed();
        EnsureInitializedAsync(CancellationToken.None).GetAwaiter().GetResult();
        return _appender.AppendAsync(request, async: false, CancellationToken.None).GetAwaiter().GetResult();
    }

    private async ValueTask<RecordedEvent> AppendCoreAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await _appender.AppendAsync(request, async: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task InitializeAsync()
    {
        await Store.EnsureCreatedAsync(BucketIncrement, CancellationToken.None).ConfigureAwait(false);
        await _pipeline.StartAsync(CancellationToken.None).ConfigureAwait(false);
        if (PublishMode == PublishMode.Committed && !_pipeline.IsDurable)
        {
            Log.CommittedWithoutRecovery(_logger, InstanceName);
        }

        Log.Ready(_logger, Store.GetType().Name, Publisher.GetType().Name, BucketIncrement, InstanceName, PublishMode);
    }

    private async IAsyncEnumerable<RecordedEvent> ReadBucketCoreAsync(DateTime bucket, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var recorded in Store.ReadBucketAsync(bucket, cancellationToken).ConfigureAwait(false))
        {
            yield return recorded;
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

        return (TimeBuckets.Floor(start, _incrementTicks, nameof(start)), end);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private ICheckpointStore CheckpointStore(string feature) =>
        Store as ICheckpointStore
        ?? throw new NotSupportedException($"{feature} keep their checkpoints in the store, and {Store.GetType().Name} does not implement {nameof(ICheckpointStore)}.");

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
