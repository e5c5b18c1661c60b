using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Settings of publish recovery: the background service that makes every recorded event reach the publisher.</summary>
public sealed class PublishRecoveryOptions
{
    /// <summary>
    /// This application instance's name. Each instance keeps its own publish watermark under it, so it must be unique
    /// among instances writing to one store and stable across restarts (a StatefulSet pod name, a service name plus
    /// an ordinal): after a crash, the instance that restarts under the name republishes what it may not have published.
    /// </summary>
    /// <value>The default is the machine name.</value>
    public string InstanceName { get; set; } = Environment.MachineName;

    /// <summary>How long an append waits for the publisher before it gives the event to the background recovery.</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the recovery republishes deferred buckets and persists the watermark.</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one republish of one bucket may take before it counts as failed and is retried.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan RecoveryAttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The watermark lag (now minus the oldest bucket not known published) past which the health check reports unhealthy.</summary>
    /// <value>The default is 5 minutes.</value>
    public TimeSpan UnhealthyLag { get; set; } = TimeSpan.FromMinutes(5);

    internal string CheckpointName => "publish-watermark/" + InstanceName;
}

/// <summary>Validates <see cref="PublishRecoveryOptions"/>, naming every bad setting.</summary>
internal sealed class PublishRecoveryOptionsValidator : IValidateOptions<PublishRecoveryOptions>
{
    public ValidateOptionsResult Validate(string? name, PublishRecoveryOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.InstanceName))
        {
            errors.Add($"{nameof(options.InstanceName)} must be a non-empty name, unique per application instance and stable across restarts.");
        }

        Positive(options.PublishTimeout, nameof(options.PublishTimeout));
        Positive(options.RecoveryInterval, nameof(options.RecoveryInterval));
        Positive(options.RecoveryAttemptTimeout, nameof(options.RecoveryAttemptTimeout));
        Positive(options.UnhealthyLag, nameof(options.UnhealthyLag));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Positive(TimeSpan value, string setting)
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{setting} must be positive (got {value}).");
            }
        }
    }
}
