using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Wraps a handler so that an event id within the retention window reaches it at most once per successful
/// handling: duplicates from replays and broker redeliveries are skipped. A handler failure leaves the id
/// unmarked, so a redelivery processes it. Two concurrent deliveries of one id: one runs, the other waits for
/// it and then skips (or runs, if the first failed). Thread-safe.
/// </summary>
/// <remarks>
/// The id is marked after the inner handler succeeded. A crash between the two means the event is handled
/// again after restart: at least once. For exactly-once effects, keep the processed-event log in the same
/// transaction as the downstream's own state.
/// </remarks>
public sealed partial class IdempotentEventHandler : IEventHandler
{
    private readonly Func<RecordedEvent, CancellationToken, ValueTask> _inner;
    private readonly IProcessedEventLog _log;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TimeSpan _window;
    private readonly OlderThanWindowMode _olderThanWindow;
    private readonly ConcurrentDictionary<TimeUuid, Task> _inFlight = new();
    private long _handled;
    private long _duplicates;
    private long _skippedAsOld;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The handler that applies events.</param>
    /// <param name="log">Where processed ids are remembered.</param>
    /// <param name="options">Window and old-event mode; defaults when null.</param>
    /// <param name="timeProvider">The clock the window is measured against; the system clock when null.</param>
    /// <param name="logger">The logger; none when null.</param>
    public IdempotentEventHandler(IEventHandler inner, IProcessedEventLog log, IdempotencyOptions? options = null, TimeProvider? timeProvider = null, ILogger<IdempotentEventHandler>? logger = null)
        : this((inner ?? throw new ArgumentNullException(nameof(inner))).HandleAsync, log, options, timeProvider, logger)
    {
    }

    /// <summary>Wraps a handler delegate.</summary>
    /// <inheritdoc cref="IdempotentEventHandler(IEventHandler, IProcessedEventLog, IdempotencyOptions?, TimeProvider?, ILogger{IdempotentEventHandler}?)"/>
    public IdempotentEventHandler(Func<RecordedEvent, CancellationToken, ValueTask> inner, IProcessedEventLog log, IdempotencyOptions? options = null, TimeProvider? timeProvider = null, ILogger<IdempotentEventHandler>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(log);
        options ??= new IdempotencyOptions();
        options.Validate();
        _inner = inner;
        _log = log;
        _window = options.RetentionWindow;
        _olderThanWindow = options.OlderThanWindow;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Events the inner handler applied.</summary>
    public long HandledCount => Interlocked.Read(ref _handled);

    /// <summary>Duplicates skipped because their id was already processed.</summary>
    public long DuplicateCount => Interlocked.Read(ref _duplicates);

    /// <summary>Events skipped because they were older than the window (<see cref="OlderThanWindowMode.Skip"/>).</summary>
    public long SkippedAsOldCount => Interlocked.Read(ref _skippedAsOld);

    /// <inheritdoc />
    public async ValueTask HandleAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recordedEvent);
        var id = recordedEvent.EventId;

        if (id.GetTimestamp() < _timeProvider.GetUtcNow() - _window)
        {
            if (_olderThanWindow == OlderThanWindowMode.Skip)
            {
                Interlocked.Increment(ref _skippedAsOld);
                Log.SkippedAsOld(_logger, id);
                return;
            }

            await _inner(recordedEvent, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _handled);
            return;
        }

        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (!_inFlight.TryAdd(id, mine.Task))
        {
            // Another delivery of this id is running: wait for it, then look at the log again.
            if (_inFlight.TryGetValue(id, out var running))
            {
                await running.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        try
        {
            if (await _log.IsProcessedAsync(id, cancellationToken).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _duplicates);
                Log.Duplicate(_logger, id);
                return;
            }

            await _inner(recordedEvent, cancellationToken).ConfigureAwait(false);
            await _log.MarkProcessedAsync(id, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _handled);
        }
        finally
        {
            _inFlight.TryRemove(id, out _);
            mine.SetResult(); // waiters re-check the log whether we succeeded or failed
        }
    }

    /// <summary>Forgets ids older than the window, in event time.</summary>
    /// <returns>How many ids were forgotten.</returns>
    public ValueTask<long> PruneAsync(CancellationToken cancellationToken = default) =>
        _log.PruneAsync(_timeProvider.GetUtcNow() - _window, cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(1200, LogLevel.Debug, "Event {EventId} was already processed; skipped.")]
        public static partial void Duplicate(ILogger logger, TimeUuid eventId);

        [LoggerMessage(1201, LogLevel.Debug, "Event {EventId} is older than the idempotency window; skipped.")]
        public static partial void SkippedAsOld(ILogger logger, TimeUuid eventId);
    }
}
