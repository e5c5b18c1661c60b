using System.Globalization;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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

    /// <summary>When <c>AppendAsync</c> returns.</summary>
    public PublishMode Mode { get; init; } = PublishMode.Acknowledged;

    /// <summary>Exactly once: transactions with the cursor in this topic (which must exist: the mock broker cannot create topics); at least once when null.</summary>
    public string? CursorTopic { get; init; }

    /// <summary>The instance name, the same in every process of one test.</summary>
    public string InstanceName { get; init; } = RecordingApp.InstanceName;

    /// <summary>
    /// Exactly once: read the last cursor with <see cref="CommittedLogCursorReader"/>, as a broker's <c>read_committed</c>
    /// consumer would see it, rather than with the mock's own consumer, which also shows cursors of transactions a killed
    /// process left open (a broker aborts those when the next process starts).
    /// </summary>
    public bool ReadCursorFromLog { get; init; }

    /// <summary>The command-line form of the mode settings, for a child process: <c>acknowledged</c>, <c>committed</c> or <c>exactly-once:&lt;cursor topic&gt;</c>.</summary>
    public string ModeArgument => CursorTopic is { } cursors ? "exactly-once:" + cursors : Mode == PublishMode.Committed ? "committed" : "acknowledged";

    /// <summary>These settings with the mode of <see cref="ModeArgument"/>.</summary>
    public RecordingAppSettings WithModeArgument(string argument) => argument switch
    {
        "acknowledged" => this with { Mode = PublishMode.Acknowledged },
        "committed" => this with { Mode = PublishMode.Committed },
        _ when argument.StartsWith("exactly-once:", StringComparison.Ordinal) =>
            this with { Mode = PublishMode.Committed, CursorTopic = argument["exactly-once:".Length..], ReadCursorFromLog = true },
        _ => throw new ArgumentException($"Unknown mode '{argument}'.", nameof(argument)),
    };
}

/// <summary>
/// One application instance as the fault tests run it: records in a SQLite file, publishes to Kafka (at least or
/// exactly once), publish recovery on under a fixed instance name, its hosted services started as a host would. The same configuration runs in the
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
        if (settings.ReadCursorFromLog)
        {
            // Registered before UseKafka, whose own registration then stands aside.
            services.AddSingleton(sp => new KafkaEventPublisher(
                sp.GetRequiredService<IOptions<KafkaPublisherOptions>>(),
                sp.GetService<ILogger<KafkaEventPublisher>>(),
                new CommittedLogCursorReader(settings.BootstrapServers)));
        }

        services.AddSystemOfRecord(o =>
            {
                o.BucketIncrement = BucketIncrement;
                o.DefaultTopic = settings.Topic;
                o.PublishMode = settings.Mode;
            })
            .UseSqlite("Data Source=" + settings.DatabaseFile)
            .UseKafka(k =>
            {
                KafkaTestSettings.Publisher(k, settings.BootstrapServers, settings.KafkaPublishTimeout);
                if (settings.LingerMs is { } linger)
                {
                    k.ProducerSettings["linger.ms"] = linger.ToString(CultureInfo.InvariantCulture);
                }

                if (settings.CursorTopic is { } cursors)
                {
                    k.ExactlyOnce = true;
                    k.CursorTopic = cursors;
                }
            })
            .WithPublishRecovery(o =>
            {
                o.InstanceName = settings.InstanceName;
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
