using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Turns on publish recovery.</summary>
public static class PublishRecoveryBuilderExtensions
{
    /// <summary>
    /// Makes every recorded event reach the publisher at least once, across broker outages and process crashes.
    /// An append then waits at most <see cref="PublishRecoveryOptions.PublishTimeout"/> for the publisher; if the
    /// publish fails, it throws <see cref="EventPublishException"/> with <see cref="EventPublishException.RecoveryScheduled"/>
    /// set, and a hosted background service republishes the event's bucket once the broker is back. Needs a store that
    /// implements <see cref="ICheckpointStore"/> (all the built-in stores do) and a host that runs hosted services.
    /// </summary>
    public static ISystemOfRecordBuilder WithPublishRecovery(this ISystemOfRecordBuilder builder, Action<PublishRecoveryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<PublishRecoveryOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PublishRecoveryOptions>, PublishRecoveryOptionsValidator>());
        services.TryAddSingleton<PublishTracker>();
        services.TryAddSingleton<PublishRecoveryService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PublishRecoveryService>(sp => sp.GetRequiredService<PublishRecoveryService>()));
        services.TryAddSingleton(sp => new PublishLagHealthCheck(
            sp.GetRequiredService<PublishTracker>(),
            sp.GetRequiredService<SystemOfRecord>(),
            sp.GetRequiredService<IOptions<PublishRecoveryOptions>>(),
            sp.GetRequiredService<TimeProvider>()));
        return builder;
    }
}
