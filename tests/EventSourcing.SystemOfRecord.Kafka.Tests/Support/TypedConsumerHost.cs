using EventSourcing.SystemOfRecord.Kafka.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>A downstream application with one consumer registered through <c>AddKafkaEventConsumer(o => ...)</c> and its builder.</summary>
internal sealed class TypedConsumerHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private bool _stopped;

    public TypedConsumerHost(
        KafkaMockCluster cluster,
        string topic,
        string groupId,
        Action<KafkaEventConsumerBuilder> handlers,
        Action<KafkaConsumerOptions>? configure = null,
        Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddLogging();
        services?.Invoke(collection);
        handlers(collection.AddKafkaEventConsumer(o =>
        {
            KafkaTestSettings.Consumer(o, cluster, topic, groupId);
            configure?.Invoke(o);
        }));
        _provider = collection.BuildServiceProvider();
        Service = _provider.GetServices<IHostedService>().OfType<KafkaEventConsumerService>().Single();
    }

    public KafkaEventConsumerService Service { get; }

    public IServiceProvider Services => _provider;

    public async Task<TypedConsumerHost> StartAsync()
    {
        await Service.StartAsync(CancellationToken.None);
        return this;
    }

    public Task<HealthCheckResult> CheckHealthAsync() =>
        _provider.GetRequiredService<KafkaEventConsumerHealthCheck>().CheckHealthAsync(new HealthCheckContext());

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Service.StopAsync(timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _provider.DisposeAsync();
    }
}
