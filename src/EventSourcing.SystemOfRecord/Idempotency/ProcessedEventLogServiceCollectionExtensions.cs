using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Chooses the <see cref="IProcessedEventLog"/> that idempotent consumers (<c>WithIdempotency()</c>) remember processed
/// event ids in. The providers add their own: <c>AddSqliteProcessedEventLog</c>, <c>AddCassandraProcessedEventLog</c>.
/// </summary>
public static class ProcessedEventLogServiceCollectionExtensions
{
    /// <summary>Remembers processed ids in process memory (<see cref="InMemoryProcessedEventLog"/>), instead of the log chosen before; lost on restart.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="capacity">The most ids kept; the oldest hours are evicted past it.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not positive.</exception>
    public static IServiceCollection AddInMemoryProcessedEventLog(this IServiceCollection services, int capacity = 1_000_000)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        return services.AddProcessedEventLog(_ => new InMemoryProcessedEventLog(capacity));
    }

    /// <summary>Remembers processed ids in the log <paramref name="factory"/> creates (one singleton), instead of the log chosen before.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="factory">Creates the log.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddProcessedEventLog(this IServiceCollection services, Func<IServiceProvider, IProcessedEventLog> factory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(factory);
        services.Replace(ServiceDescriptor.Singleton(factory));
        return services;
    }
}
