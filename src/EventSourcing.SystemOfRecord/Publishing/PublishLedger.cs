namespace EventSourcing.SystemOfRecord;

/// <summary>Where one of this instance's events is on its way from the store to the broker.</summary>
internal enum SlotState : byte
{
    /// <summary>The id is issued; the store write is in progress.</summary>
    Issued,

    /// <summary>Stored; waits to be sent.</summary>
    Committed,

    /// <summary>The store could not confirm the write: the pipeline looks the event up in the store before it goes on.</summary>
    Indeterminate,

    /// <summary>Handed to the publisher.</summary>
    Sent,

    /// <summary>The publisher failed transiently; sent again after a backoff.</summary>
    Failed,

    /// <summary>Refused for good; being recorded as parked.</summary>
    Parking,

    /// <summary>The publisher acknowledged it.</summary>
    Acknowledged,

    /// <summary>Refused for good and recorded as parked: the cursor moves past it.</summary>
    Parked,

    /// <summary>Never stored (the write failed, or an indeterminate write proved absent): nothing to publish.</summary>
    Abandoned,
}

/// <summary>One entry of the <see cref="PublishLedger"/>.</summary>
internal abstract class LedgerEntry
{
    public LedgerEntry? Next { get; set; }

    /// <summary>Nothing of the entry is left to publish: the cursor may pass it.</summary>
    public abstract bool IsDone { get; }
}

/// <summary>One event of this instance, from its id's issue to its acknowledgement.</summary>
internal sealed class PublishSlot(TimeUuid id) : LedgerEntry
{
    public TimeUuid Id { get; } = id;

    public SlotState State { get; set; }

    /// <summary>The event once stored; dropped once published, so the ledger holds ids, not payloads.</summary>
    public RecordedEvent? Event { get; set; }

    /// <summary>
    /// Completed for the appender that waits on this event (<see cref="PublishMode.Acknowledged"/>): at the first outcome.
    /// Cleared when the appender stops waiting, so the slot can fold into a range.
    /// </summary>
    public TaskCompletionSource? FirstOutcome { get; set; }

    /// <summary>Failed attempts with an error no provider classified: after a few, the event counts as refused for good.</summary>
    public byte UnclassifiedFailures { get; set; }

    /// <summary>When the store committed it (<see cref="TimeProvider.GetTimestamp"/>), for the commit-to-ack duration.</summary>
    public long CommittedAt { get; set; }

    public override bool IsDone => State is SlotState.Acknowledged or SlotState.Parked or SlotState.Abandoned;
}

/// <summary>
/// A stretch of this instance's stored events to read back from the store: those with <see cref="After"/> &lt; id &lt;=
/// <see cref="Through"/>. The crash catch-up at start is one. The dispatcher reads it in chunks and inserts the events
/// it finds as slots in front of it; the range is done once the store has nothing more in it.
/// </summary>
internal sealed class StoreRange(TimeUuid after, TimeUuid through) : LedgerEntry
{
    public TimeUuid After { get; set; } = after;

    public TimeUuid Through { get; } = through;

    public bool Exhausted { get; set; }

    /// <summary>Counts events stored without an instance (by a version that did not record it) as this instance's own.</summary>
    public bool IncludeUnattributed { get; init; }

    public override bool IsDone => Exhausted;
}

/// <summary>
/// This instance's events in id order, from the oldest not yet published to the newest issued, and the cursor: the id
/// up to which every one of its events is published, parked or known not stored. Ids are added in issue order, which
/// is id order, so the cursor is the contiguous done prefix and can never pass an event that may still be committed.
/// Not thread-safe: the publish pipeline uses it under its lock.
/// </summary>
internal sealed class PublishLedger
{
    private readonly Head _head = new();
    private LedgerEntry _tail;
    private LedgerEntry _dispatched; // the last entry handed to the dispatcher; its Next is the next to dispatch

    public PublishLedger(TimeUuid cursor)
    {
        _tail = _head;
        _dispatched = _head;
        Cursor = cursor;
    }

    /// <summary>Every event of this instance with an id up to here is published, parked or not stored.</summary>
    public TimeUuid Cursor { get; private set; }

    /// <summary>Entries held: slots and ranges not yet past the cursor.</summary>
    public int Count { get; private set; }

    /// <summary>The oldest entry not yet past the cursor, or <see langword="null"/> when everything issued is done.</summary>
    public LedgerEntry? Oldest => _head.Next;

    /// <summary>The next entry for the dispatcher, or <see langword="null"/> when it has handled everything added.</summary>
    public LedgerEntry? NextToDispatch => _dispatched.Next;

    /// <summary>Adds a newly issued slot or a range at the end; ids must grow.</summary>
    public void Add(LedgerEntry entry)
    {
        _tail.Next = entry;
        _tail = entry;
        Count++;
    }

    /// <summary>The dispatcher handled <see cref="NextToDispatch"/>.</summary>
    public void MarkDispatched() => _dispatched = _dispatched.Next ?? throw new InvalidOperationException("Nothing left to dispatch.");

    /// <summary>Inserts slots read back from the range that is <see cref="NextToDispatch"/>, in order, in front of it: they are dispatched next.</summary>
    public void InsertBeforeNext(IReadOnlyList<PublishSlot> slots)
    {
        if (slots.Count == 0)
        {
            return;
        }

        var range = _dispatched.Next as StoreRange ?? throw new InvalidOperationException("The next entry is not a range.");
        for (var i = 0; i < slots.Count; i++)
        {
            slots[i].Next = i + 1 < slots.Count ? slots[i + 1] : range;
        }

        _dispatched.Next = slots[0];
        Count += slots.Count;
    }

    /// <summary>
    /// Bounds memory while the publisher is away: beyond the first <paramref name="keep"/> entries still to dispatch,
    /// replaces each run of stored, unsent events (and ids whose write failed) by one <see cref="StoreRange"/> that the
    /// dispatcher reads back from the store when it gets there. Slots still being written, or waited on by an appender,
    /// stay as they are (the cursor must not pass them, and their waiters must hear).
    /// </summary>
    /// <returns>How many slots were folded into ranges.</returns>
    public int FoldIntoRanges(int keep)
    {
        // Never touch the range being read (the next to dispatch): its reader works outside the lock.
        LedgerEntry previous = _dispatched.Next is StoreRange current ? current : _dispatched;
        var seen = 0;
        var folded = 0;
        while (previous.Next is { } entry && seen < keep)
        {
            previous = entry;
            seen++;
        }

        while (previous.Next is not null)
        {
            if (!Foldable(previous.Next))
            {
                previous = previous.Next;
                continue;
            }

            var after = previous switch
            {
                PublishSlot slot => slot.Id,
                StoreRange range => range.Through,
                _ => Cursor,
            };
            var last = (PublishSlot)previous.Next;
            var count = 1;
            while (last.Next is { } next && Foldable(next))
            {
                last = (PublishSlot)next;
                count++;
            }

            var folding = new StoreRange(after, last.Id) { Next = last.Next };
            previous.Next = folding;
            if (ReferenceEquals(_tail, last))
            {
                _tail = folding;
            }

            Count -= count - 1;
            folded += count;
            previous = folding;
        }

        return folded;

        static bool Foldable(LedgerEntry entry) =>
            entry is PublishSlot { State: SlotState.Committed or SlotState.Abandoned } slot
            && slot.FirstOutcome is null or { Task.IsCompleted: true };
    }

    /// <summary>Walks the dispatched entries (from the oldest) for slots in <paramref name="state"/>.</summary>
    public IEnumerable<PublishSlot> Dispatched(SlotState state)
    {
        if (ReferenceEquals(_dispatched, _head))
        {
            yield break;
        }

        for (var entry = _head.Next; entry is not null; entry = entry.Next)
        {
            if (entry is PublishSlot slot && slot.State == state)
            {
                yield return slot;
            }

            if (ReferenceEquals(entry, _dispatched))
            {
                yield break;
            }
        }
    }

    /// <summary>Whether any slot held is in one of <paramref name="states"/>.</summary>
    public bool Any(params SlotState[] states)
    {
        for (var entry = _head.Next; entry is not null; entry = entry.Next)
        {
            if (entry is PublishSlot slot && Array.IndexOf(states, slot.State) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Drops the done entries at the front and moves the cursor past them.</summary>
    /// <returns>Whether the cursor moved.</returns>
    public bool Advance()
    {
        var moved = false;
        while (_head.Next is { IsDone: true } done)
        {
            _head.Next = done.Next;
            done.Next = null;
            Count--;
            var passed = done switch
            {
                PublishSlot slot => slot.Id,
                StoreRange range => range.Through,
                _ => Cursor,
            };
            Cursor = passed > Cursor ? passed : Cursor; // never back: a range may end before a cursor the broker had already passed
            if (ReferenceEquals(_dispatched, done))
            {
                _dispatched = _head;
            }

            if (ReferenceEquals(_tail, done))
            {
                _tail = _head;
            }

            moved = true;
        }

        return moved;
    }

    private sealed class Head : LedgerEntry
    {
        public override bool IsDone => false;
    }
}
