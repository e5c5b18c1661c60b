using EventSourcing.SystemOfRecord.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord;

/// <summary>Publishes the system of record's events to Kafka.</summary>
public static class KafkaSystemOfRecordBuilderExtensions
{
    /// <summary>
    /// Publishes through one <see cref="KafkaEventPublisher"/> per application (a singleton, also resolvable by its own type),
    /// with <c>acks=all</c> and the idempotent producer. The options are validated at start, with one message naming every bad setting.
    /// Calling it again is harmless; <paramref name="configure"/> calls add up. With
    /// <see cref="KafkaPublisherOptions.ExactlyOnce"/> the publisher uses a transactional producer instead, and the
    /// system of record needs publish recovery (<c>WithPublishRecovery()</c>), which keeps the cursor in the store too.
    /// In <see cref="PublishMode.Acknowledged"/> the producer does not linger (<c>linger.ms</c> 0 unless
    /// <see cref="KafkaPublisherOptions.ProducerSettings"/> sets it): every append waits for its acknowledgement, so a
    /// batch's wait would be every caller's; batches still form from what arrives while requests are in flight.
    /// </summary>
    /// <param name="builder">The builder <c>AddSystemOfRecord</c> returned.</param>
    /// <param name="configure">Sets <see cref="KafkaPublisherOptions.BootstrapServers"/> and any other setting.</param>
    /// <returns>The builder.</returns>
    public static ISystemOfRecordBuilder UseKafka(this ISystemOfRecordBuilder builder, Action<KafkaPublisherOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);

        builder.Services.AddOptions<KafkaPublisherOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaPublisherOptions>, KafkaPublisherOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KafkaPublisherOptions>, NoLingerWhenAcknowledged>());
        builder.Services.TryAddSingleton(sp => new KafkaEventPublisher(
            sp.GetRequiredService<IOptions<KafkaPublisherOptions>>(),
            sp.GetService<ILogger<KafkaEventPublisher>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        return builder.UseEventPublisher(sp => sp.GetRequiredService<KafkaEventPublisher>());
    }

    /// <summary>Sets <c>linger.ms</c> to 0 in <see cref="PublishMode.Acknowledged"/> unless the user set it.</summary>
    private sealed class NoLingerWhenAcknowledged(IOptions<SystemOfRecordOptions> systemOfRecord) : IPostConfigureOptions<KafkaPublisherOptions>
    {
        public void PostConfigure(string? name, KafkaPublisherOptions options)
        {
            if (systemOfRecord.Value.PublishMode == PublishMode.Acknowledged && !options.ProducerSettings.ContainsKey("linger.ms") && !options.ProducerSettings.ContainsKey("queue.buffering.max.ms"))
            {
                options.ProducerSettings["linger.ms"] = "0";
            }
        }
    }
}
