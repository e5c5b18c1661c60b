using EventSourcing.SystemOfRecord.Cassandra;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Registers <see cref="CassandraProcessedEventLog"/> as the processed-event log of idempotent consumers.</summary>
public static class CassandraProcessedEventLogServiceCollectionExtensions
{
    /// <summary>
    /// Remembers processed event ids in Cassandra (table <c>&lt;Keyspace&gt;.&lt;Table&gt;_processed</c>, entries expiring by TTL),
    /// shared by every instance of the downstream, instead of the log chosen before. Idempotent consumers
    /// (<c>WithIdempotency()</c>) use it. The options (named <c>processed-events</c>) are validated at start;
    /// <see cref="CassandraProcessedEventLog"/> also resolves by its own type, and the container disposes it.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets contact points, credentials, TLS, keyspace and table, as for the store.</param>
    /// <param name="retentionWindow">How long after its event time an id is remembered: the consumer's <see cref="IdempotencyOptions.RetentionWindow"/> (30 days unless changed). Null for 30 days.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="retentionWindow"/> is not positive or longer than 20 years.</exception>
    public static IServiceCollection AddCassandraProcessedEventLog(this IServiceCollection services, Action<CassandraStoreOptions> configure, TimeSpan? retentionWindow = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var window = retentionWindow ?? new IdempotencyOptions().RetentionWindow;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero, nameof(retentionWindow));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, TimeSpan.FromSeconds(CassandraProcessedEventLog.MaxTtlSeconds), nameof(retentionWindow));

        services.AddOptions<CassandraStoreOptions>(OptionsName).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CassandraStoreOptions>, CassandraStoreOptionsValidator>());
        services.TryAddSingleton(sp => new CassandraProcessedEventLog(
            sp.GetRequiredService<IOptionsMonitor<CassandraStoreOptions>>().Get(OptionsName),
            window,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<CassandraProcessedEventLog>>()));
        return services.AddProcessedEventLog(sp => sp.GetRequiredService<CassandraProcessedEventLog>());
    }

    /// <summary>The name of the processed-event log's <see cref="CassandraStoreOptions"/>, apart from the store's.</summary>
    internal const string OptionsName = "processed-events";
}
