using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Registers the system of record in an <see cref="IServiceCollection"/>.</summary>
public static class SystemOfRecordServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="SystemOfRecord"/>, <see cref="IEventStore"/> and <see cref="IEventPublisher"/> as singletons.
    /// Until a store and a publisher are chosen on the returned builder, both are in memory
    /// (the publisher also resolves as <see cref="InMemoryEventPublisher"/>, so an app can subscribe to it).
    /// Calling it again is harmless; <paramref name="configure"/> calls add up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; they are validated at start, with one message naming every bad setting.</param>
    /// <returns>A builder to choose the store, the publisher and the replay strategy.</returns>
    public static ISystemOfRecordBuilder AddSystemOfRecord(this IServiceCollection services, Action<SystemOfRecordOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<SystemOfRecordOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SystemOfRecordOptions>, SystemOfRecordOptionsValidator>());

        services.TryAddSingleton<InMemoryEventStore>();
        services.TryAddSingleton<IEventStore>(sp => sp.GetRequiredService<InMemoryEventStore>());
        services.TryAddSingleton<InMemoryEventPublisher>();
        services.TryAddSingleton<IEventPublisher>(sp => sp.GetRequiredService<InMemoryEventPublisher>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddEventSerialization();
        services.TryAddSingleton(CreateSystemOfRecord);
        services.TryAddSingleton(sp => new PublishLagHealthCheck(sp.GetRequiredService<SystemOfRecord>(), sp.GetRequiredService<IOptions<PublishRecoveryOptions>>()));
        services.TryAddSingleton(sp => new EventStoreHealthCheck(sp.GetRequiredService<SystemOfRecord>()));

        return new SystemOfRecordBuilder(services);
    }

    private static SystemOfRecord CreateSystemOfRecord(IServiceProvider sp) => new(
        sp.GetRequiredService<IEventStore>(),
        sp.GetRequiredService<IEventPublisher>(),
        sp.GetRequiredService<IOptions<SystemOfRecordOptions>>(),
        sp.GetService<ReplayStrategyRegistration>()?.Strategy,
        sp.GetRequiredService<TimeProvider>(),
        sp.GetService<ILogger<SystemOfRecord>>(),
        sp.GetService<PublishRecoveryRegistration>() is null ? null : sp.GetRequiredService<IOptions<PublishRecoveryOptions>>().Value,
        sp.GetService<IMeterFactory>())
    {
        EventSerializer = sp.GetRequiredService<IEventSerializer>(),
        EventTypes = sp.GetRequiredService<EventTypeRegistry>(),
    };
}
