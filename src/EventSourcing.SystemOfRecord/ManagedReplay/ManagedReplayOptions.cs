namespace EventSourcing.SystemOfRecord;

/// <summary>Settings of one managed replay run (<c>SystemOfRecord.RunReplayAsync</c>).</summary>
public sealed class ManagedReplayOptions
{
    /// <summary>The largest <see cref="MaxParallelism"/>: 256.</summary>
    public const int MaxLanes = 256;

    /// <summary>The default <see cref="CheckpointInterval"/>: 1 second.</summary>
    public static readonly TimeSpan DefaultCheckpointInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How many events are delivered at the same time. Events are spread over this many lanes by a hash of their
    /// key; a lane delivers one event at a time, in bucket then event id order, so the events of one key keep their
    /// order however large this is. Events without a key are spread by event id and keep no order among themselves.
    /// </summary>
    /// <value>The default is 1: every event in bucket then event id order. From 1 to <see cref="MaxLanes"/>.</value>
    public int MaxParallelism { get; set; } = 1;

    /// <summary>
    /// The most events per second the replay hands to its target (a token bucket on the system of record's
    /// <see cref="TimeProvider"/>), so a replay cannot flood a broker; <see langword="null"/> for no limit.
    /// </summary>
    /// <value>The default is <see langword="null"/> (no limit). Positive and finite when set.</value>
    public double? MaxEventsPerSecond { get; set; }

    /// <summary>
    /// How many events the rate limit lets through at once after an idle spell (the token bucket's size): over any
    /// span of <c>t</c> seconds at most <c>RateLimitBurst + MaxEventsPerSecond × t</c> events are delivered.
    /// </summary>
    /// <value>The default is <see langword="null"/>: a tenth of a second's worth of <see cref="MaxEventsPerSecond"/>, at least 1.</value>
    public int? RateLimitBurst { get; set; }

    /// <summary>
    /// The least time between two checkpoint writes while the replay runs; a checkpoint is also written when the
    /// replay completes, fails or is cancelled. After a crash, the events delivered since the last write are delivered again.
    /// </summary>
    /// <value>The default is 1 second. <see cref="TimeSpan.Zero"/> writes one whenever a bucket completes. Not negative.</value>
    public TimeSpan CheckpointInterval { get; set; } = DefaultCheckpointInterval;

    internal int EffectiveBurst => RateLimitBurst ?? (int)Math.Max(1, Math.Ceiling(MaxEventsPerSecond.GetValueOrDefault() / 10));

    internal void ThrowIfInvalid()
    {
        var errors = new List<string>();
        if (MaxParallelism is < 1 or > MaxLanes)
        {
            errors.Add($"{nameof(MaxParallelism)} must be from 1 to {MaxLanes} (got {MaxParallelism}).");
        }

        if (MaxEventsPerSecond is { } rate && (rate <= 0 || !double.IsFinite(rate)))
        {
            errors.Add($"{nameof(MaxEventsPerSecond)} must be positive and finite, or null for no limit (got {rate}).");
        }

        if (RateLimitBurst is < 1)
        {
            errors.Add($"{nameof(RateLimitBurst)} must be at least 1, or null for the default (got {RateLimitBurst}).");
        }

        if (CheckpointInterval < TimeSpan.Zero)
        {
            errors.Add($"{nameof(CheckpointInterval)} must not be negative (got {CheckpointInterval}).");
        }

        if (errors.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(nameof(ManagedReplayOptions), typeof(ManagedReplayOptions), errors);
        }
    }
}
