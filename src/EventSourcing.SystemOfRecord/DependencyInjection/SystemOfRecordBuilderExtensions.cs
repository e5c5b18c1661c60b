using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EventSourcing.SystemOfRecord;

/// <summary>Chooses the store, the publisher and the replay strategy of the system of record.</summary>
public static class SystemOfRecordBuilderExtensions
{
    /// <summary>Keeps events in process memory (<see cref="InMemoryEventStore"/>); they are lost on restart.</summary>
    public static ISystemOfRecordBuilder UseInMemory(this ISystemOfRecordBuilder builder) =>
        builder.UseEventStore(sp => sp.GetRequiredService<InMemoryEventStore>());

    /// <summary>Publishes to in-process subscribers (<see cref="InMemoryEventPublisher"/>, which also resolves by its own type).</summary>
    public static ISystemOfRecordBuilder UseInMemoryPublisher(this ISystemOfRecordBuilder builder) =>
        builder.UseEventPublisher(sp => sp.GetRequiredService<InMemoryEventPublisher>());

    /// <summary>Records events in the store <paramref name="factory"/> creates, instead of the one chosen before.</summary>
    public static ISystemOfRecordBuilder UseEventStore(this ISystemOfRecordBuilder builder, Func<IServiceProvider, IEventStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.Replace(ServiceDescriptor.Singleton(factory));
        return builder;
    }

    /// <summary>Publishes through the publisher <paramref name="factory"/> creates, instead of the one chosen before.</summary>
    public static ISystemOfRecordBuilder UseEventPublisher(this ISystemOfRecordBuilder builder, Func<IServiceProvider, IEventPublisher> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.Replace(ServiceDescriptor.Singleton(factory));
        return builder;
    }

    /// <summary>
    /// Replays through <paramref name="replayBucketStrategy"/>: <see cref="SystemOfRecord.ReplayDateRange(DateTime, DateTime)"/>
    /// calls it with the start of each bucket of the range.
    /// </summary>
    public static ISystemOfRecordBuilder WithReplayStrategy(this ISystemOfRecordBuilder builder, Action<DateTime> replayBucketStrategy)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(replayBucketStrategy);
        builder.Services.Replace(ServiceDescriptor.Singleton(new ReplayStrategyRegistration(replayBucketStrategy)));
        return builder;
    }
}
