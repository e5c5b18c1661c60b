using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cli.Stores;

/// <summary>
/// A <see cref="SystemOfRecord"/> over an opened store, built the way an application builds one
/// (<c>AddSystemOfRecord</c>), so the tool replays and repairs through the same publish path. The tool owns the
/// store and the publisher: they are registered as instances, which the container does not dispose.
/// </summary>
internal sealed class SystemOfRecordHost : IAsyncDisposable
{
    /// <summary>
    /// The instance name the tool's system of record carries. It never appends, so no event is ever published as this
    /// instance's own; the name only keeps the tool apart from the application instances.
    /// </summary>
    public const string InstanceName = "sor-cli";

    private readonly ServiceProvider _services;

    private SystemOfRecordHost(ServiceProvider services)
    {
        _services = services;
        System = services.GetRequiredService<SystemOfRecord>();
    }

    public SystemOfRecord System { get; }

    /// <summary>Builds a system of record on <paramref name="store"/> that publishes through <paramref name="publisher"/> (none: in memory, for commands that never publish).</summary>
    public static SystemOfRecordHost Create(IEventStore store, TimeSpan increment, IEventPublisher? publisher, ILoggerFactory logging) =>
        Build(store, increment, InstanceName, publisher, logging, configure: null);

    /// <summary>
    /// Builds a system of record that runs as application instance <paramref name="instance"/>, with publish recovery:
    /// its start takes the instance's lease (waiting out a dead holder for <paramref name="lease"/>) and publishes what
    /// the instance left unpublished; its disposal writes the cursor and lets go of the name.
    /// </summary>
    public static SystemOfRecordHost CreateAsInstance(IEventStore store, TimeSpan increment, IEventPublisher publisher, string instance, TimeSpan lease, ILoggerFactory logging) =>
        Build(store, increment, instance, publisher, logging, builder => builder.WithPublishRecovery(o =>
        {
            o.LeaseDuration = lease;
            o.RecoveryInterval = TimeSpan.FromTicks(Math.Min(o.RecoveryInterval.Ticks, lease.Ticks / 4)); // a holder renews within a quarter of the lease
        }));

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private static SystemOfRecordHost Build(
        IEventStore store,
        TimeSpan increment,
        string instance,
        IEventPublisher? publisher,
        ILoggerFactory logging,
        Action<ISystemOfRecordBuilder>? configure)
    {
        var services = new ServiceCollection();
        services.AddSingleton(logging);
        services.TryAdd(ServiceDescriptor.Singleton(typeof(ILogger<>), typeof(Logger<>)));
        var builder = services.AddSystemOfRecord(options =>
        {
            options.BucketIncrement = increment;
            options.InstanceName = instance;
        });
        builder.Services.Replace(ServiceDescriptor.Singleton(store));
        if (publisher is not null)
        {
            builder.Services.Replace(ServiceDescriptor.Singleton(publisher));
        }

        configure?.Invoke(builder);
        return new SystemOfRecordHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }));
    }
}
