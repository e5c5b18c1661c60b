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
    /// Adds a hosted service that consumes <see cref="KafkaConsumerOptions.Topic"/> in <see cref="KafkaConsumerOptions.GroupId"/>;
    /// give it handlers on the returned builder: <c>.Handle&lt;OrderPlaced&gt;((e, context, ct) =&gt; ...)</c> per event type,
    /// <c>.HandleOthers(...)</c> for the rest, <c>.WithIdempotency()</c> to apply each event once. At least once: an offset
    /// is committed only after its event was handled (or skipped or dead-lettered per the policies).
    /// Call it once per topic; the options are validated at start, with one message naming every bad setting.
    /// Also registers <see cref="KafkaEventConsumerHealthCheck"/> and the default event serialization.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the bootstrap servers, topic, group, retries, failure policies and any other setting.</param>
    /// <returns>A builder to add the consumer's handlers.</returns>
    public static KafkaEventConsumerBuilder AddKafkaEventConsumer(this IServiceCollection services, Action<KafkaConsumerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddConsumer(configure);
    }

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
        services.AddConsumer(configure).HandleOthers(
            (recordedEvent, context, cancellationToken) => context.Services.GetRequiredService<THandler>().HandleAsync(recordedEvent, cancellationToken));
        return services;
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
        services.AddConsumer(configure).HandleOthers((recordedEvent, _, cancellationToken) => handler(recordedEvent, cancellationToken));
        return services;
    }

    private static KafkaEventConsumerBuilder AddConsumer(this IServiceCollection services, Action<KafkaConsumerOptions> configure)
    {
        // Each consumer has named options and a keyed service of its own, so one app can consume several topics.
        var name = $"{typeof(KafkaEventConsumerService).FullName}#{Interlocked.Increment(ref s_registrations)}";
        services.AddOptions<KafkaConsumerOptions>(name).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaConsumerOptions>, KafkaConsumerOptionsValidator>());
        services.AddEventSerialization();
        var registration = new KafkaConsumerRegistration(name);
        services.AddSingleton(registration);
        services.AddKeyedSingleton(name, (sp, _) => new KafkaEventConsumerService(
            sp.GetRequiredService<IOptionsMonitor<KafkaConsumerOptions>>().Get(name),
            registration,
            sp,
            (ILogger?)sp.GetService<ILoggerFactory>()?.CreateLogger<KafkaEventConsumerService>() ?? NullLogger.Instance));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredKeyedService<KafkaEventConsumerService>(name));
        services.TryAddSingleton(sp => new KafkaEventConsumerHealthCheck(
            [.. sp.GetServices<KafkaConsumerRegistration>().Select(r => sp.GetRequiredKeyedService<KafkaEventConsumerService>(r.Name))]));
        return new KafkaEventConsumerBuilder(services, registration);
    }
}
