using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Settings of publish recovery: the publish pipeline's cursor, a lease on the instance name and the reservation of
/// event times are kept in the store, so a restart publishes what a crash left unpublished and two processes never
/// share an instance name.
/// </summary>
public sealed class PublishRecoveryOptions
{
    /// <summary>
    /// This application instance's name. Prefer <see cref="SystemOfRecordOptions.InstanceName"/>, which every event is
    /// stored with; a value set here (not null) is copied there when both are configured through dependency injection.
    /// </summary>
    /// <value>The default is <see langword="null"/>: <see cref="SystemOfRecordOptions.InstanceName"/> applies.</value>
    public string? InstanceName { get; set; }

    /// <summary>
    /// How long an append in <see cref="PublishMode.Acknowledged"/> waits for the publisher before it throws
    /// <see cref="EventPublishException"/> (with <see cref="EventPublishException.RecoveryScheduled"/>) and leaves the event to the pipeline.
    /// </summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often the publish cursor is written to the store (and the lease renewed). After a crash, the events
    /// acknowledged since the last write are published again, so a short interval means few duplicates.
    /// </summary>
    /// <value>The default is 250 milliseconds.</value>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between two attempts at a publish that keeps failing (the backoff grows up to it, with jitter).</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan RecoveryAttemptTimeout { get; set; } = PublishPipelineSettings.DefaultMaxBackoff;

    /// <summary>
    /// How long a start waits, when the last holder of the instance name did not let go (it crashed, or it is alive
    /// elsewhere), for the holder's record to change: if it does, a live process holds the name and the start is refused
    /// with <see cref="InstanceConflictException"/>; if not, the holder is dead and this process takes over. A live holder
    /// renews at least every quarter of it.
    /// </summary>
    /// <value>The default is 10 seconds. At least four times <see cref="RecoveryInterval"/>.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The publish lag (how long the oldest unpublished event has waited) past which the health check reports unhealthy.</summary>
    /// <value>The default is 5 minutes.</value>
    public TimeSpan UnhealthyLag { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Every problem with these options, or an empty list.</summary>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        if (InstanceName is not null && !SystemOfRecordOptions.IsValidInstanceName(InstanceName))
        {
            errors.Add($"{nameof(InstanceName)} must be null or 1 to {SystemOfRecordOptions.MaxInstanceNameLength} letters, digits, '.', '_' or '-' (got '{InstanceName}').");
        }

        Positive(PublishTimeout, nameof(PublishTimeout));
        Positive(RecoveryInterval, nameof(RecoveryInterval));
        Positive(RecoveryAttemptTimeout, nameof(RecoveryAttemptTimeout));
        Positive(UnhealthyLag, nameof(UnhealthyLag));
        if (LeaseDuration < RecoveryInterval * 4)
        {
            errors.Add($"{nameof(LeaseDuration)} must be at least four times {nameof(RecoveryInterval)} (got {LeaseDuration} and {RecoveryInterval}): a live holder renews within a quarter of it.");
        }

        return errors;

        void Positive(TimeSpan value, string setting)
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{setting} must be positive (got {value}).");
            }
        }
    }

    /// <summary>Throws one <see cref="OptionsValidationException"/> naming every bad setting.</summary>
    internal void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(PublishRecoveryOptions), errors);
        }
    }
}

/// <summary>Validates <see cref="PublishRecoveryOptions"/>, naming every bad setting.</summary>
internal sealed class PublishRecoveryOptionsValidator : IValidateOptions<PublishRecoveryOptions>
{
    public ValidateOptionsResult Validate(string? name, PublishRecoveryOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
