using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Settings of a <see cref="SystemOfRecord"/>.</summary>
public sealed class SystemOfRecordOptions
{
    /// <summary>The default <see cref="BucketIncrement"/>: 15 seconds.</summary>
    public static readonly TimeSpan DefaultBucketIncrement = TimeSpan.FromSeconds(15);

    /// <summary>The default <see cref="MaxMessageBytes"/>: 1 MiB.</summary>
    public const int DefaultMaxMessageBytes = 1024 * 1024;

    /// <summary>
    /// The width of a time bucket. Small enough to keep a bucket's events well under 100 000; a store
    /// remembers the increment it was created with and refuses another one.
    /// </summary>
    /// <value>The default is 15 seconds. Positive, whole milliseconds, at most one day.</value>
    public TimeSpan BucketIncrement { get; set; } = DefaultBucketIncrement;

    /// <summary>The topic of events appended without one.</summary>
    /// <value>The default is <c>"events"</c>.</value>
    public string DefaultTopic { get; set; } = "events";

    /// <summary>The largest message, in UTF-8 bytes, that an append accepts.</summary>
    /// <value>The default is 1 MiB (1 048 576 bytes).</value>
    public int MaxMessageBytes { get; set; } = DefaultMaxMessageBytes;

    /// <summary>The default <see cref="MaxPublishesInFlight"/>: 4 096.</summary>
    public const int DefaultMaxPublishesInFlight = 4096;

    /// <summary>
    /// This application instance's name, stored with every event it appends. Its publish pipeline publishes (and after a
    /// crash, republishes) only the events of its own instance, and keeps its cursor under this name; two live processes
    /// may not share it (the second is refused). Unique per instance writing to one store, stable across restarts
    /// (a StatefulSet pod name, a service name plus an ordinal). Letters, digits, '.', '_' and '-', at most 200 characters.
    /// </summary>
    /// <value>The default is the machine name.</value>
    public string InstanceName { get; set; } = Environment.MachineName;

    /// <summary>When <c>AppendAsync</c> returns: once the broker acknowledged the event, or once the store committed it.</summary>
    /// <value>The default is <see cref="PublishMode.Acknowledged"/>.</value>
    public PublishMode PublishMode { get; set; } = PublishMode.Acknowledged;

    /// <summary>How many events the publish pipeline keeps in flight to the publisher at once.</summary>
    /// <value>The default is 4 096. Positive.</value>
    public int MaxPublishesInFlight { get; set; } = DefaultMaxPublishesInFlight;

    /// <summary>Every problem with these options, or an empty list.</summary>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        if (BucketIncrement <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(BucketIncrement)} must be positive (got {BucketIncrement}).");
        }
        else if (BucketIncrement.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            errors.Add($"{nameof(BucketIncrement)} must be whole milliseconds (got {BucketIncrement}).");
        }
        else if (BucketIncrement > TimeSpan.FromDays(1))
        {
            errors.Add($"{nameof(BucketIncrement)} must be at most one day (got {BucketIncrement}).");
        }

        if (string.IsNullOrWhiteSpace(DefaultTopic))
        {
            errors.Add($"{nameof(DefaultTopic)} must be a non-empty topic name.");
        }

        if (MaxMessageBytes <= 0)
        {
            errors.Add($"{nameof(MaxMessageBytes)} must be positive (got {MaxMessageBytes}).");
        }

        if (!IsValidInstanceName(InstanceName))
        {
            errors.Add($"{nameof(InstanceName)} must be 1 to {MaxInstanceNameLength} letters, digits, '.', '_' or '-' (got '{InstanceName}'), unique per application instance and stable across restarts.");
        }

        if (!Enum.IsDefined(PublishMode))
        {
            errors.Add($"{nameof(PublishMode)} must be Acknowledged or Committed (got {(int)PublishMode}).");
        }

        if (MaxPublishesInFlight <= 0)
        {
            errors.Add($"{nameof(MaxPublishesInFlight)} must be positive (got {MaxPublishesInFlight}).");
        }

        return errors;
    }

    internal const int MaxInstanceNameLength = 200;

    internal static bool IsValidInstanceName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxInstanceNameLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws one <see cref="OptionsValidationException"/> naming every bad setting.</summary>
    internal void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(SystemOfRecordOptions), errors);
        }
    }
}

/// <summary>Validates <see cref="SystemOfRecordOptions"/> at start, with one message naming every bad setting.</summary>
internal sealed class SystemOfRecordOptionsValidator : IValidateOptions<SystemOfRecordOptions>
{
    public ValidateOptionsResult Validate(string? name, SystemOfRecordOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
