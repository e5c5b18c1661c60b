namespace EventSourcing.SystemOfRecord;

/// <summary>Settings of one <see cref="SystemOfRecord.ReloadAsync(IReloadableProjection, DateTime, DateTime, ReloadOptions?, IProgress{ReplayProgress}?, CancellationToken)"/> call.</summary>
public sealed class ReloadOptions
{
    /// <summary>The default <see cref="MaxCatchUpPasses"/>: 10.</summary>
    public const int DefaultMaxCatchUpPasses = 10;

    /// <summary>
    /// Whether, after the range, the reload goes on with the events recorded since: it reads again from the last
    /// bucket it delivered up to the current bucket (skipping events already delivered), pass after pass, until a
    /// pass finds nothing new. The projection then reflects every event up to about now, not only up to the range's end.
    /// </summary>
    /// <value>The default is <see langword="false"/>: only the range is delivered.</value>
    public bool CatchUp { get; set; }

    /// <summary>The most catch-up passes before the reload returns even though events keep arriving.</summary>
    /// <value>The default is 10. Must be positive.</value>
    public int MaxCatchUpPasses { get; set; } = DefaultMaxCatchUpPasses;

    internal void ThrowIfInvalid()
    {
        if (MaxCatchUpPasses <= 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(
                nameof(ReloadOptions), typeof(ReloadOptions), [$"{nameof(MaxCatchUpPasses)} must be positive (got {MaxCatchUpPasses})."]);
        }
    }
}
