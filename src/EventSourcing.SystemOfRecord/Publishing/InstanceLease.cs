using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// This process's hold on its instance name, kept in the store as a <see cref="PublishCursorRecord"/> that only the
/// holder writes, each write a compare-and-set from the value it wrote last. A second process is refused while the
/// holder keeps writing (it renews at least every quarter of the lease); a holder that died is taken over once its
/// record stayed unchanged for a whole lease; a holder whose write fails the comparison was taken over and stops.
/// </summary>
internal sealed partial class InstanceLease
{
    private readonly ICheckpointStore _store;
    private readonly string _instance;
    private readonly string _name;
    private readonly TimeSpan _duration;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly string _owner = Guid.NewGuid().ToString("N");
    private PublishCursorRecord? _written;
    private long _writtenAt;

    public InstanceLease(ICheckpointStore store, string instance, TimeSpan duration, TimeProvider clock, ILogger logger)
    {
        _store = store;
        _instance = instance;
        _name = PublishCursorRecord.NameOf(instance);
        _duration = duration;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>How long it has been since the record was last written by this holder.</summary>
    public TimeSpan SinceLastWrite => _clock.GetElapsedTime(Volatile.Read(ref _writtenAt));

    /// <summary>A renewal is due: a quarter of the lease passed since the last write.</summary>
    public bool RenewalDue => SinceLastWrite >= _duration / 4;

    /// <summary>
    /// Takes the name: at once when nobody holds it or its holder let go; after a whole lease without a change when
    /// the record says live (its holder may have died). Returns what the last holder left: its cursor and reservation.
    /// </summary>
    /// <param name="firstCursor">The cursor of a name never held before: nothing earlier belongs to it.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="InstanceConflictException">A live process holds the name.</exception>
    public async Task<PublishCursorRecord> ClaimAsync(TimeUuid firstCursor, CancellationToken cancellationToken)
    {
        var current = await _store.ReadCheckpointAsync(_name, cancellationToken).ConfigureAwait(false);
        var watchedSince = _clock.GetTimestamp();

        // This process's own record, from a start that failed half-way, has no one to wait for.
        bool Held(string? record) => record is not null && PublishCursorRecord.Parse(_name, record) is { Released: false } held && held.Owner != _owner;
        if (Held(current))
        {
            Log.WaitingForLease(_logger, _instance, _duration);
        }

        while (Held(current) && _clock.GetElapsedTime(watchedSince) < _duration)
        {
            await Task.Delay(_duration / 5, _clock, cancellationToken).ConfigureAwait(false);
            var now = await _store.ReadCheckpointAsync(_name, cancellationToken).ConfigureAwait(false);
            if (Held(now) && now != current)
            {
                throw InUse();
            }

            if (now != current)
            {
                // Let go or deleted meanwhile: look again from the top.
                current = now;
                watchedSince = _clock.GetTimestamp();
            }
        }

        var previous = current is null ? null : PublishCursorRecord.Parse(_name, current);
        var claimed = new PublishCursorRecord(
            _owner,
            (previous?.Sequence ?? 0) + 1,
            previous?.Cursor ?? firstCursor,
            previous?.ReservedUntil ?? firstCursor.GetTimestamp(),
            Released: false);
        if (!await _store.TryReplaceCheckpointAsync(_name, current, claimed.Format(), cancellationToken).ConfigureAwait(false))
        {
            throw InUse();
        }

        Wrote(claimed);
        if (previous is { Released: false })
        {
            Log.TookOver(_logger, _instance, previous.Owner);
        }

        return claimed;
    }

    /// <summary>Writes the cursor and the reservation (renewing the lease).</summary>
    /// <exception cref="InstanceConflictException">Another process took the name over: stop publishing.</exception>
    public async Task WriteAsync(TimeUuid cursor, DateTimeOffset reservedUntil, bool release, CancellationToken cancellationToken)
    {
        var last = _written ?? throw new InvalidOperationException("The lease was never claimed.");
        var next = last with { Sequence = last.Sequence + 1, Cursor = cursor, ReservedUntil = reservedUntil, Released = release };
        if (await _store.TryReplaceCheckpointAsync(_name, last.Format(), next.Format(), cancellationToken).ConfigureAwait(false))
        {
            Wrote(next);
            return;
        }

        if (!await RetryFromOwnWriteAsync(next, cancellationToken).ConfigureAwait(false))
        {
            throw new InstanceConflictException(
                _instance,
                $"Another process took over instance '{_instance}' (its publish cursor changed under this one); this process stops publishing. "
                + "Two processes must not share SystemOfRecordOptions.InstanceName.");
        }
    }

    /// <summary>
    /// The comparison failed: if the record is still this holder's (a write reported failed, a timeout say, had in fact
    /// landed), write again from what is there; otherwise someone else holds the name.
    /// </summary>
    private async Task<bool> RetryFromOwnWriteAsync(PublishCursorRecord next, CancellationToken cancellationToken)
    {
        var stored = await _store.ReadCheckpointAsync(_name, cancellationToken).ConfigureAwait(false);
        if (stored is null || PublishCursorRecord.Parse(_name, stored) is not { Owner: var owner, Sequence: var sequence } || owner != _owner)
        {
            return false;
        }

        var again = next with { Sequence = sequence + 1 };
        if (!await _store.TryReplaceCheckpointAsync(_name, stored, again.Format(), cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        Wrote(again);
        return true;
    }

    private void Wrote(PublishCursorRecord record)
    {
        _written = record;
        Volatile.Write(ref _writtenAt, _clock.GetTimestamp());
    }

    private InstanceConflictException InUse() => new(
        _instance,
        $"Instance name '{_instance}' is in use by another live process (its publish cursor '{_name}' is being renewed). "
        + "Give every process its own SystemOfRecordOptions.InstanceName, unique among the processes writing to this store and stable across restarts.");

    private static partial class Log
    {
        [LoggerMessage(1040, LogLevel.Information, "Instance {Instance}: the last holder of the name did not let go; waiting up to {Lease} to see whether it is alive.")]
        public static partial void WaitingForLease(ILogger logger, string instance, TimeSpan lease);

        [LoggerMessage(1041, LogLevel.Warning, "Instance {Instance}: took over the name from holder {Owner}, which stopped renewing it; catching up on what it may not have published.")]
        public static partial void TookOver(ILogger logger, string instance, string owner);
    }
}
