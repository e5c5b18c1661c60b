using System.Globalization;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>How a <see cref="RecordingApp"/> runs.</summary>
internal sealed record RecordingAppSettings(string DatabaseFile, string BootstrapServers, string Topic)
{
    /// <summary>How long an append waits for Kafka before it leaves the event to publish recovery.</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>librdkafka's <c>message.timeout.ms</c>: a record not acknowledged by then fails in the producer.</summary>
    public TimeSpan KafkaPublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>librdkafka's <c>linger.ms</c>; the default of <see cref="KafkaTestSettings"/> when null.</summary>
    public int? LingerMs { get; init; }
}

/// <summary>
/// One application instance as the fault tests run it: records in a SQLite file, publishes to Kafka, publish recovery
/// on under a fixed instance name, its hosted services started as a host would. The same configuration runs in the
/// child process that is killed and in the instance that restarts after it.
/// </summary>
internal sealed class RecordingApp : IAsyncDisposable
{
    public const string InstanceName = "fault-tests-app";

    public static readonly TimeSpan BucketIncrement = TimeSpan.FromSeconds(1);

    private readonly ServiceProvider _provider;
    private readonly List<IHostedService> _started = [];
    private bool _disposed;

    private RecordingApp(ServiceProvider provider) => _provider = provider;

    public SystemOfRecord System => _provider.GetRequiredService<SystemOfRecord>();

    public SqliteEventStore Store => _provider.GetRequiredService<SqliteEventStore>();

    /// <summary>Whether publish recovery has nothing left to republish (its health check reports healthy).</summary>
    public bool RecoveryIdle =>
        _provider.GetRequiredService<PublishLagHealthCheck>().CheckHealthAsync(new HealthCheckContext()).GetAwaiter().GetResult().Status == HealthStatus.Healthy;

    public static async Task<RecordingApp> StartAsync(RecordingAppSettings settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSystemOfRecord(o =>
            {
                o.BucketIncrement = BucketIncrement;
                o.DefaultTopic = settings.Topic;
            })
            .UseSqlite("Data Source=" + settings.DatabaseFile)
            .UseKafka(k =>
            {
                KafkaTestSettings.Publisher(k, settings.BootstrapServers, settings.KafkaPublishTimeout);
                if (settings.LingerMs is { } linger)
                {
                    k.ProducerSettings["linger.ms"] = linger.ToString(CultureInfo.InvariantCulture);
                }
            })
            .WithPublishRecovery(o =>
            {
                o.InstanceName = InstanceName;
                o.PublishTimeout = settings.PublishTimeout;
                o.RecoveryInterval = TimeSpan.FromMilliseconds(200);
                o.RecoveryAttemptTimeout = TimeSpan.FromSeconds(5);
                o.LeaseDuration = TimeSpan.FromSeconds(2);
            });

        var app = new RecordingApp(services.BuildServiceProvider());
        try
        {
            foreach (var hosted in app._provider.GetServices<IHostedService>())
            {
                await hosted.StartAsync(CancellationToken.None);
                app._started.Add(hosted);
            }
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    /// <summary>Stops the hosted services (publish recovery persists its watermark), then disposes the store and the publisher.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(timeout.Token);
        }

        _started.Clear();
        await _provider.DisposeAsync();
    }
}
