using Confluent.Kafka;
using EventSourcing.SystemOfRecord.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cli.Kafka;

/// <summary>How the tool reaches Kafka: bootstrap servers, extra librdkafka settings (possibly secret: never printed) and a timeout.</summary>
internal sealed class KafkaSettings(string bootstrapServers, IReadOnlyDictionary<string, string> clientSettings, TimeSpan connectTimeout)
{
    public string BootstrapServers { get; } = bootstrapServers;

    public TimeSpan ConnectTimeout { get; } = connectTimeout;

    /// <summary>The publisher the tool republishes through: the library's own, with the extra settings.</summary>
    public KafkaEventPublisher CreatePublisher(ILoggerFactory logging)
    {
        var options = new KafkaPublisherOptions { BootstrapServers = BootstrapServers };
        foreach (var (key, value) in clientSettings)
        {
            options.ProducerSettings[key] = value;
        }

        try
        {
            return new KafkaEventPublisher(Options.Create(options), logging.CreateLogger<KafkaEventPublisher>());
        }
        catch (OptionsValidationException ex)
        {
            throw new CliException(ExitCodes.Usage, "Kafka settings: " + ex.Message, ex);
        }
    }

    /// <summary>A consumer configuration that reads assigned partitions and commits nothing.</summary>
    public ConsumerConfig ConsumerConfig()
    {
        var config = new ConsumerConfig(Settings())
        {
            GroupId = "sor-cli-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        return config;
    }

    public AdminClientConfig AdminConfig() => new(Settings());

    /// <summary>Asks a broker for the cluster's metadata (and the topic's, when given) within the connect timeout.</summary>
    /// <returns>The topic's partition ids, or none when no topic was asked.</returns>
    /// <exception cref="CliException">No broker answered (exit code 4), or the topic does not exist (exit code 5).</exception>
    public async Task<IReadOnlyList<int>> CheckReachableAsync(string? topic, ILogger logger, CancellationToken cancellationToken)
    {
        // GetMetadata blocks (at most the timeout); keep it off the caller's thread so Ctrl+C still reads.
        var metadata = await Task.Run(
            () =>
            {
                using var admin = new AdminClientBuilder(AdminConfig())
                    .SetLogHandler((_, message) => KafkaLogging.Write(logger, message))
                    .SetErrorHandler((_, error) => KafkaLogging.Write(logger, error))
                    .Build();
                try
                {
                    // Every topic's metadata, not the one topic's: asking for a topic by name makes a broker with
                    // auto.create.topics.enable create it, and a mistyped name must not leave a new topic behind.
                    return admin.GetMetadata(ConnectTimeout);
                }
                catch (KafkaException ex)
                {
                    throw new CliException(
                        ExitCodes.BrokerUnavailable,
                        $"Kafka at {BootstrapServers} did not answer within {CommandLine.TimeText.Format(ConnectTimeout)}: {ex.Error.Reason}",
                        ex);
                }
            },
            cancellationToken).WaitAsync(cancellationToken);

        if (metadata.Brokers.Count == 0)
        {
            throw new CliException(ExitCodes.BrokerUnavailable, $"Kafka at {BootstrapServers} answered with no brokers.");
        }

        if (topic is null)
        {
            return [];
        }

        var found = metadata.Topics.FirstOrDefault(t => t.Topic == topic);
        if (found is null || found.Error.Code == ErrorCode.UnknownTopicOrPart || found.Partitions.Count == 0)
        {
            throw new CliException(ExitCodes.NotFound, $"Kafka at {BootstrapServers} has no topic '{topic}'.");
        }

        if (found.Error.IsError)
        {
            throw new CliException(ExitCodes.BrokerUnavailable, $"Kafka refused the metadata of topic '{topic}': {found.Error.Reason}");
        }

        return [.. found.Partitions.Select(p => p.PartitionId).Order()];
    }

    private Dictionary<string, string> Settings() =>
        new(clientSettings, StringComparer.Ordinal) { ["bootstrap.servers"] = BootstrapServers };
}
