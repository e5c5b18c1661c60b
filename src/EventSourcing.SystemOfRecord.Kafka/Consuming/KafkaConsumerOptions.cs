using Confluent.Kafka;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>Settings of one Kafka event consumer (see <c>AddKafkaEventConsumer</c>).</summary>
public sealed class KafkaConsumerOptions
{
    /// <summary>The default <see cref="MaxRetryDelay"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultMaxRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>The brokers to bootstrap from, <c>host:port</c> separated by commas.</summary>
    /// <value>Required; there is no default.</value>
    public string? BootstrapServers { get; set; }

    /// <summary>The topic to consume.</summary>
    /// <value>Required; there is no default.</value>
    public string? Topic { get; set; }

    /// <summary>The consumer group: instances with one group id share the topic's partitions and its committed offsets.</summary>
    /// <value>Required; there is no default.</value>
    public string? GroupId { get; set; }

    /// <summary>What to do with a record that is not one of our events.</summary>
    /// <value>The default is <see cref="PoisonRecordPolicy.LogAndSkip"/>.</value>
    public PoisonRecordPolicy PoisonRecordPolicy { get; set; } = PoisonRecordPolicy.LogAndSkip;

    /// <summary>
    /// A handler that throws gets the same record again after a delay that doubles from 100 ms up to this value,
    /// until it succeeds or the service stops; the offset is not committed past it meanwhile.
    /// </summary>
    /// <value>The default is 30 seconds. At least 100 ms and at most 2 minutes (below <c>max.poll.interval.ms</c>).</value>
    public TimeSpan MaxRetryDelay { get; set; } = DefaultMaxRetryDelay;

    /// <summary>
    /// Any other librdkafka consumer setting, passed through as is (<c>security.protocol</c>, <c>sasl.*</c>, <c>ssl.*</c>,
    /// <c>client.id</c>, <c>session.timeout.ms</c>, <c>auto.offset.reset</c>...). Values are never logged.
    /// <c>auto.offset.reset</c> defaults to <c>earliest</c> so a new group misses nothing. Settings that would
    /// commit offsets of unhandled records (<c>enable.auto.offset.store=true</c>) are refused at start.
    /// </summary>
    /// <value>Empty by default.</value>
    public IDictionary<string, string> ConsumerSettings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Every problem with these options, or an empty list. Names settings, never their values.</summary>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            errors.Add($"{nameof(BootstrapServers)} is required (host:port, comma separated).");
        }

        if (string.IsNullOrWhiteSpace(Topic))
        {
            errors.Add($"{nameof(Topic)} is required.");
        }

        if (string.IsNullOrWhiteSpace(GroupId))
        {
            errors.Add($"{nameof(GroupId)} is required.");
        }

        if (!Enum.IsDefined(PoisonRecordPolicy))
        {
            errors.Add($"{nameof(PoisonRecordPolicy)} must be LogAndSkip or Stop (got {(int)PoisonRecordPolicy}).");
        }

        if (MaxRetryDelay < TimeSpan.FromMilliseconds(100) || MaxRetryDelay > TimeSpan.FromMinutes(2))
        {
            errors.Add($"{nameof(MaxRetryDelay)} must be from 100 ms to 2 minutes (got {MaxRetryDelay}).");
        }

        foreach (var (name, value) in ConsumerSettings)
        {
            if (value is null)
            {
                errors.Add($"{nameof(ConsumerSettings)}['{name}'] has a null value.");
                continue;
            }

            switch (name)
            {
                case "bootstrap.servers" or "metadata.broker.list":
                    errors.Add($"{nameof(ConsumerSettings)}['{name}']: set {nameof(BootstrapServers)} instead.");
                    break;
                case "group.id":
                    errors.Add($"{nameof(ConsumerSettings)}['{name}']: set {nameof(GroupId)} instead.");
                    break;
                case "enable.auto.offset.store" when !string.Equals(value.Trim(), "false", StringComparison.OrdinalIgnoreCase):
                    errors.Add($"{nameof(ConsumerSettings)}['{name}'] must stay false: offsets are stored only after the handler succeeded.");
                    break;
                case "enable.auto.commit" when !string.Equals(value.Trim(), "true", StringComparison.OrdinalIgnoreCase):
                    errors.Add($"{nameof(ConsumerSettings)}['{name}'] must stay true: the consumer commits the offsets it stored in the background.");
                    break;
            }
        }

        return errors;
    }

    internal ConsumerConfig ToConsumerConfig()
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(ConsumerSettings, StringComparer.Ordinal));
        if (!ConsumerSettings.ContainsKey("auto.offset.reset"))
        {
            config.AutoOffsetReset = AutoOffsetReset.Earliest;
        }

        config.BootstrapServers = BootstrapServers;
        config.GroupId = GroupId;
        config.EnableAutoCommit = true;
        config.EnableAutoOffsetStore = false;
        return config;
    }
}

/// <summary>Validates <see cref="KafkaConsumerOptions"/> at start, with one message naming every bad setting.</summary>
internal sealed class KafkaConsumerOptionsValidator : IValidateOptions<KafkaConsumerOptions>
{
    public ValidateOptionsResult Validate(string? name, KafkaConsumerOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
