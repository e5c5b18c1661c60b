namespace EventSourcing.SystemOfRecord;

/// <summary>What the publish pipeline is doing.</summary>
public enum PublishState
{
    /// <summary>Not started yet: it starts with the first append or read (or at host start with publish recovery).</summary>
    NotStarted = 0,

    /// <summary>Publishing what the last run of this instance left unpublished, before or alongside new appends.</summary>
    CatchingUp,

    /// <summary>Publishing new appends as they commit.</summary>
    Running,

    /// <summary>The publisher failed transiently; the pipeline waits out a backoff and sends the failed events again.</summary>
    Retrying,

    /// <summary>Stopped: the system of record was disposed.</summary>
    Stopped,

    /// <summary>Stopped for good: another process took this instance's name over (see <see cref="InstanceConflictException"/>).</summary>
    Fenced,
}

/// <summary>A snapshot of one instance's publish pipeline (<c>SystemOfRecord.GetPublishStatus()</c>).</summary>
public sealed record PublishStatus
{
    /// <summary>The instance the pipeline publishes for.</summary>
    public required string InstanceName { get; init; }

    /// <summary>What the pipeline is doing.</summary>
    public required PublishState State { get; init; }

    /// <summary>Every event of this instance with an id up to the cursor is published (or parked).</summary>
    public required TimeUuid Cursor { get; init; }

    /// <summary>How long the oldest unpublished event of this instance has waited since it was appended; zero when none waits.</summary>
    public required TimeSpan Lag { get; init; }

    /// <summary>Events handed to the publisher and not yet acknowledged.</summary>
    public required int InFlight { get; init; }

    /// <summary>Events (and stretches of the store to read back) issued and not yet past the cursor.</summary>
    public required int Backlog { get; init; }

    /// <summary>Events this pipeline parked since it started.</summary>
    public required long Parked { get; init; }

    /// <summary>Whether the cursor, and so the catch-up after a crash, survives a restart (publish recovery on).</summary>
    public required bool IsDurable { get; init; }
}
