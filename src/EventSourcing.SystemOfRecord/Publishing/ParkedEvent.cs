using System.Globalization;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// An event its publisher refused for good (a record the broker can never take, a topic it may never write): the
/// publish pipeline set it aside so that the events after it are not held up, and kept it here until someone looks.
/// It stays in the store; republish its bucket once the cause is fixed.
/// </summary>
public sealed class ParkedEvent
{
    internal const string NamePrefix = "publish-parked/";

    /// <summary>Creates a parked event.</summary>
    /// <param name="instance">The instance whose pipeline parked it.</param>
    /// <param name="eventId">The event's id.</param>
    /// <param name="timeBucket">The event's bucket.</param>
    /// <param name="reason">The publisher's error.</param>
    public ParkedEvent(string instance, TimeUuid eventId, DateTime timeBucket, string reason)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(reason);
        Instance = instance;
        EventId = eventId;
        TimeBucket = UtcTime.Normalize(timeBucket, nameof(timeBucket));
        Reason = reason;
    }

    /// <summary>The instance whose pipeline parked it.</summary>
    public string Instance { get; }

    /// <summary>The event's id.</summary>
    public TimeUuid EventId { get; }

    /// <summary>The event's bucket (UTC): republish it to deliver the event.</summary>
    public DateTime TimeBucket { get; }

    /// <summary>Why the publisher refused it.</summary>
    public string Reason { get; }

    internal static string CheckpointPrefix(string instance) => NamePrefix + instance + "/";

    internal string CheckpointName => CheckpointNameOf(Instance, EventId);

    internal static string CheckpointNameOf(string instance, TimeUuid eventId) => CheckpointPrefix(instance) + eventId;

    internal string CheckpointValue => TimeBucket.ToString("O", CultureInfo.InvariantCulture) + " " + Reason;

    internal static ParkedEvent? FromCheckpoint(string name, string value)
    {
        var slash = name.LastIndexOf('/');
        var space = value.IndexOf(' ', StringComparison.Ordinal);
        if (!name.StartsWith(NamePrefix, StringComparison.Ordinal) || slash <= NamePrefix.Length || space < 0
            || !TimeUuid.TryParse(name.AsSpan(slash + 1), out var id)
            || !DateTime.TryParse(value.AsSpan(0, space), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var bucket))
        {
            return null;
        }

        return new ParkedEvent(name[NamePrefix.Length..slash], id, DateTime.SpecifyKind(bucket, DateTimeKind.Utc), value[(space + 1)..]);
    }
}
