using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Turns on publish recovery.</summary>
public static class PublishRecoveryBuilderExtensions
{
    /// <summary>
    /// Makes every recorded event reach the publisher at least once, across broker outages and process crashes: the
    /// publish pipeline keeps its cursor, a lease on the instance name and the reservation of event times in the store,
    /// and a start publishes what the last run of the instance left unpublished before its new appends. An append in
    /// <see cref="PublishMode.Acknowledged"/> then waits at most <see cref="PublishRecoveryOptions.PublishTimeout"/>; if
    /// the publish has not succeeded by then, it throws <see cref="EventPublishException"/> with
    /// <see cref="EventPublishException.RecoveryScheduled"/> set, and the pipeline goes on trying. Needs a store that
    /// implements <see cref="ICheckpointStore"/> (all the built-in stores do). A hosted service starts the pipeline at host
    /// start (so the catch-up does not wait for the first append) and lets go of the instance name at host stop.
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
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<SystemOfRecordOptions>, RecoveryInstanceNameCopier>());
        services.TryAddSingleton<PublishRecoveryRegistration>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PublishRecoveryHostedService>());
        return builder;
    }

    /// <summary>Copies <see cref="PublishRecoveryOptions.InstanceName"/>, when set, to <see cref="SystemOfRecordOptions.InstanceName"/>.</summary>
    private sealed class RecoveryInstanceNameCopier(IOptions<PublishRecoveryOptions> recovery) : IPostConfigureOptions<SystemOfRecordOptions>
    {
        public void PostConfigure(string? name, SystemOfRecordOptions options)
        {
            if (recovery.Value.InstanceName is { } instance)
            {
                options.InstanceName = instance;
            }
        }
    }
}

/// <summary>Marks that <c>WithPublishRecovery</c> was called: the system of record is built with a durable publish cursor.</summary>
internal sealed class PublishRecoveryRegistration;

/// <summary>Starts the publish pipeline (and its catch-up) at host start; stopping it is the system of record's disposal.</summary>
internal sealed class PublishRecoveryHostedService(SystemOfRecord sor) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => sor.EnsureInitializedAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => sor.DisposeAsync().AsTask().WaitAsync(cancellationToken);
}
