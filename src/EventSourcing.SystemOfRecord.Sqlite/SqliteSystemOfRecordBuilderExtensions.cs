using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Chooses the SQLite store (<see cref="SqliteEventStore"/>) for the system of record.</summary>
public static class SqliteSystemOfRecordBuilderExtensions
{
    /// <summary>
    /// Records events in the SQLite file that <paramref name="connectionString"/> names (created when missing),
    /// with the default <see cref="SqliteStoreOptions"/>: WAL, synchronous=FULL, group commit.
    /// </summary>
    /// <param name="builder">The builder <c>AddSystemOfRecord</c> returned.</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, for example <c>Data Source=events.db</c>.</param>
    /// <returns>The builder, to chain more choices.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="connectionString"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty.</exception>
    public static ISystemOfRecordBuilder UseSqlite(this ISystemOfRecordBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseSqlite(options => options.ConnectionString = connectionString);
    }

    /// <summary>
    /// Records events in a SQLite file configured by <paramref name="configure"/>. The options are validated at
    /// start (and when the store is first resolved), with one message naming every bad setting.
    /// <see cref="SqliteEventStore"/> resolves as <see cref="IEventStore"/> and by its own type, as one singleton
    /// that the container disposes.
    /// </summary>
    /// <param name="builder">The builder <c>AddSystemOfRecord</c> returned.</param>
    /// <param name="configure">Sets the options; <see cref="SqliteStoreOptions.ConnectionString"/> is required.</param>
    /// <returns>The builder, to chain more choices.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is null.</exception>
    public static ISystemOfRecordBuilder UseSqlite(this ISystemOfRecordBuilder builder, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);

        var services = builder.Services;
        services.AddOptions<SqliteStoreOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        services.TryAddSingleton(sp => new SqliteEventStore(
            sp.GetRequiredService<IOptions<SqliteStoreOptions>>(),
            sp.GetService<ILogger<SqliteEventStore>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        return builder.UseEventStore(sp => sp.GetRequiredService<SqliteEventStore>());
    }
}
