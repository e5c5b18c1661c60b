using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Registers <see cref="SqliteProcessedEventLog"/> as the processed-event log of idempotent consumers.</summary>
public static class SqliteProcessedEventLogServiceCollectionExtensions
{
    /// <summary>
    /// Remembers processed event ids in the SQLite file <paramref name="connectionString"/> names (usually the downstream's
    /// own database), across restarts, instead of the log chosen before. Idempotent consumers (<c>WithIdempotency()</c>) use it.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, for example <c>Data Source=downstream.db</c>.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddSqliteProcessedEventLog(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return services.AddSqliteProcessedEventLog(o => o.ConnectionString = connectionString);
    }

    /// <summary>
    /// Remembers processed event ids in a SQLite file configured by <paramref name="configure"/> (connection string,
    /// synchronous mode, busy timeout), instead of the log chosen before. The options (named <c>processed-events</c>) are
    /// validated at start. <see cref="SqliteProcessedEventLog"/> also resolves by its own type.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; <see cref="SqliteStoreOptions.ConnectionString"/> is required.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddSqliteProcessedEventLog(this IServiceCollection services, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<SqliteStoreOptions>(OptionsName).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        services.TryAddSingleton(sp => new SqliteProcessedEventLog(sp.GetRequiredService<IOptionsMonitor<SqliteStoreOptions>>().Get(OptionsName)));
        return services.AddProcessedEventLog(sp => sp.GetRequiredService<SqliteProcessedEventLog>());
    }

    /// <summary>The name of the processed-event log's <see cref="SqliteStoreOptions"/>, apart from the store's.</summary>
    internal const string OptionsName = "processed-events";
}
