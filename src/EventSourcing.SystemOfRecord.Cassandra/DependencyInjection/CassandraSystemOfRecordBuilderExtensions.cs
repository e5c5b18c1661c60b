using EventSourcing.SystemOfRecord.Cassandra;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Chooses Apache Cassandra as the system of record.</summary>
public static class CassandraSystemOfRecordBuilderExtensions
{
    /// <summary>
    /// Records events in Cassandra (<see cref="CassandraEventStore"/>, which also resolves by its own type).
    /// The options are validated at start, with one message naming every bad setting.
    /// </summary>
    /// <param name="builder">The builder <c>AddSystemOfRecord</c> returned.</param>
    /// <param name="configure">Sets contact points, keyspace, table, credentials, TLS, consistency, schema creation and shards.</param>
    /// <returns>The builder.</returns>
    public static ISystemOfRecordBuilder UseCassandra(this ISystemOfRecordBuilder builder, Action<CassandraStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<CassandraStoreOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CassandraStoreOptions>, CassandraStoreOptionsValidator>());
        builder.Services.TryAddSingleton(sp => new CassandraEventStore(
            sp.GetRequiredService<IOptions<CassandraStoreOptions>>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<CassandraEventStore>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        return builder.UseEventStore(sp => sp.GetRequiredService<CassandraEventStore>());
    }
}
