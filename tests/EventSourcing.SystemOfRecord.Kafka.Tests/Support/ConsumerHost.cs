using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>One application instance hosting a Kafka event consumer, as a host would run it, recording what its handler saw.</summary>
internal sealed class ConsumerHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private bool _stopped;

    public ConsumerHost(Action<Kafka.KafkaConsumerOptions> configure, Func<RecordedEvent, int, ValueTask>? onEvent = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddKafkaEventConsumer(configure, async (e, ct) =>
        {
            var attempt = Attempts.AddOrUpdate(e.EventId, 1, (_, n) => n + 1);
            if (onEvent is not null)
            {
                await onEvent(e, attempt);
            }

            Handled.Enqueue(e);
        });
        _provider = services.BuildServiceProvider();
        Service = _provider.GetServices<IHostedService>().OfType<KafkaEventConsumerService>().Single();
    }

    public KafkaEventConsumerService Service { get; }

    /// <summary>Events the handler completed, in completion order.</summary>
    public ConcurrentQueue<RecordedEvent> Handled { get; } = new();

    /// <summary>How often the handler was called per event, failures included.</summary>
    public ConcurrentDictionary<TimeUuid, int> Attempts { get; } = new();

    public async Task<ConsumerHost> StartAsync()
    {
        await Service.StartAsync(CancellationToken.None);
        return this;
    }

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
