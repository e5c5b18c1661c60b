using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Registers how typed events are serialized (<see cref="IEventSerializer"/>, JSON by default) and named
/// (<see cref="EventTypeRegistry"/>). <c>AddSystemOfRecord</c> and the typed consumers call <see cref="AddEventSerialization"/> themselves.
/// </summary>
public static class EventSerializationServiceCollectionExtensions
{
    /// <summary>
    /// Registers the default <see cref="IEventSerializer"/> (<see cref="JsonEventSerializer.Default"/>) unless one is
    /// registered, and the <see cref="EventTypeRegistry"/> singleton. Calling it again is harmless; <paramref name="configureTypes"/> calls add up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configureTypes">Maps event types to names (<see cref="EventTypeRegistry.Map{TEvent}(string)"/>), or null.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddEventSerialization(this IServiceCollection services, Action<EventTypeRegistry>? configureTypes = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IEventSerializer>(JsonEventSerializer.Default);
        var types = services.AddOptions<EventTypeRegistry>();
        if (configureTypes is not null)
        {
            types.Configure(configureTypes);
        }

        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<EventTypeRegistry>>().Value);
        return services;
    }

    /// <summary>Names <typeparamref name="TEvent"/> <paramref name="name"/> for typed appends and typed consumers, over its attribute and type name.</summary>
    /// <exception cref="ArgumentException">(When the registry is first resolved) the name is invalid or conflicts with another mapping.</exception>
    public static IServiceCollection MapEventType<TEvent>(this IServiceCollection services, string name) =>
        services.AddEventSerialization(types => types.Map<TEvent>(name));

    /// <summary>Serializes typed events with <paramref name="serializer"/> instead of the one registered before (JSON by default).</summary>
    public static IServiceCollection AddEventSerializer(this IServiceCollection services, IEventSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(serializer);
        services.AddEventSerialization();
        services.Replace(ServiceDescriptor.Singleton(serializer));
        return services;
    }

    /// <summary>Serializes typed events with the serializer <paramref name="factory"/> creates, instead of the one registered before.</summary>
    public static IServiceCollection AddEventSerializer(this IServiceCollection services, Func<IServiceProvider, IEventSerializer> factory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(factory);
        services.AddEventSerialization();
        services.Replace(ServiceDescriptor.Singleton(factory));
        return services;
    }

    /// <inheritdoc cref="MapEventType{TEvent}(IServiceCollection, string)"/>
    public static ISystemOfRecordBuilder MapEventType<TEvent>(this ISystemOfRecordBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.MapEventType<TEvent>(name);
        return builder;
    }

    /// <inheritdoc cref="AddEventSerializer(IServiceCollection, IEventSerializer)"/>
    public static ISystemOfRecordBuilder UseEventSerializer(this ISystemOfRecordBuilder builder, IEventSerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddEventSerializer(serializer);
        return builder;
    }
}
