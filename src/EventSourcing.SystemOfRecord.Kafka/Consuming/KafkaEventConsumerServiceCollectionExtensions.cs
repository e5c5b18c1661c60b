using EventSourcing.SystemOfRecord.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Registers hosted services that consume the system of record's events from Kafka.</summary>
public static class KafkaEventConsumerServiceCollectionExtensions
{
    private static int s_registrations;

    /// <summary>
    /// Adds a hosted service that consumes <see cref="KafkaConsumerOptions.Topic"/> in <see cref="KafkaConsumerOptions.GroupId"/>
    /// and hands every event to a <typeparamref name="THandler"/> resolved in a scope of its own per event
    /// (registered as scoped unless it already is registered). At least once: an offset is committed only after the handler succeeded.
    /// Call it once per topic; the options are validated at start, with one message naming every bad setting.
    /// </summary>
    /// <typeparam name="THandler">The downstream's handler.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the bootstrap servers, topic, group and any other setting.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaEventConsumer<THandler>(this IServiceCollection services, Action<KafkaConsumerOptions> configure)
        where THandler : class, IEventHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.TryAddScoped<THandler>();
        return services.AddConsumer(configure, sp => async (recordedEvent, cancellationToken) =>
        {
            var scope = sp.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(recordedEvent, cancellationToken).ConfigureAwait(false);
            }
        });
    }

    /// <summary>
    /// Adds a hosted service that consumes <see cref="KafkaConsumerOptions.Topic"/> in <see cref="KafkaConsumerOptions.GroupId"/>
    /// and hands every event to <paramref name="handler"/>. At least once: an offset is committed only after the handler succeeded.
    /// Call it once per topic; the options are validated at start, with one message naming every bad setting.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the bootstrap servers, topic, group and any other setting.</param>
    /// <param name="handler">Handles one event; throwing has it delivered again after a delay.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaEventConsumer(
        this IServiceCollection services,
        Action<KafkaConsumerOptions> configure,
        Func<RecordedEvent, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(handler);
        return services.AddConsumer(configure, _ => handler);
    }

    private static IServiceCollection AddConsumer(
        this IServiceCollection services,
        Action<KafkaConsumerOptions> configure,
        Func<IServiceProvider, Func<RecordedEvent, CancellationToken, ValueTask>> handlerFactory)
    {
        // Each consumer has named options of its own, so one app can consume several topics.
        var name = $"{typeof(KafkaEventConsumerService).FullName}#{Interlocked.Increment(ref s_registrations)}";
        services.AddOptions<KafkaConsumerOptions>(name).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaConsumerOptions>, KafkaConsumerOptionsValidator>());
        services.AddSingleton<IHostedService>(sp => new KafkaEventConsumerService(
            sp.GetRequiredService<IOptionsMonitor<KafkaConsumerOptions>>().Get(name),
            handlerFactory(sp),
            (ILogger?)sp.GetService<ILoggerFactory>()?.CreateLogger<KafkaEventConsumerService>() ?? NullLogger.Instance));
        return services;
    }
}
