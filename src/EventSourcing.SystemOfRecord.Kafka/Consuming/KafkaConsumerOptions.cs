using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Polly;

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
    /// A handler that throws gets the same event again (a Polly retry pipeline) after a delay that starts at
    /// <see cref="RetryDelay"/> and grows per <see cref="RetryBackoff"/> up to this value, with jitter when
    /// <see cref="RetryJitter"/> is on, until it succeeds, <see cref="MaxRetryAttempts"/> is reached or the service stops;
    /// nothing after it on its partition is handled first, and its offset is not committed meanwhile. The consumer
    /// keeps polling (its partitions paused) while a handler runs or waits, so it stays in its group however long that takes.
    /// </summary>
    /// <value>The default is 30 seconds. At least 100 ms and at most 2 minutes.</value>
    public TimeSpan MaxRetryDelay { get; set; } = DefaultMaxRetryDelay;

    /// <summary>The default <see cref="RetryDelay"/>: 100 ms.</summary>
    public static readonly TimeSpan DefaultRetryDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The delay before the first retry of a failed handler; later ones grow per <see cref="RetryBackoff"/>.</summary>
    /// <value>The default is 100 ms. Positive, at most <see cref="MaxRetryDelay"/>.</value>
    public TimeSpan RetryDelay { get; set; } = DefaultRetryDelay;

    /// <summary>
    /// How many times a failed handler is called again for one event before <see cref="HandlerFailurePolicy"/> applies;
    /// 0 applies it at the first failure. Errors that cannot heal (the event cannot be deserialized as its handler's type) are not retried.
    /// </summary>
    /// <value>The default is <see cref="int.MaxValue"/>: retry until the handler succeeds (or the service stops), as before failure policies existed.</value>
    public int MaxRetryAttempts { get; set; } = int.MaxValue;

    /// <summary>How the retry delay grows: <see cref="DelayBackoffType.Exponential"/> doubles it, <see cref="DelayBackoffType.Linear"/> adds <see cref="RetryDelay"/>, <see cref="DelayBackoffType.Constant"/> keeps it.</summary>
    /// <value>The default is <see cref="DelayBackoffType.Exponential"/>.</value>
    public DelayBackoffType RetryBackoff { get; set; } = DelayBackoffType.Exponential;

    /// <summary>Whether retry delays get random jitter (Polly's decorrelated jitter), so that many consumers failing together do not retry in step.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool RetryJitter { get; set; } = true;

    /// <summary>What to do with an event whose handler still fails after <see cref="MaxRetryAttempts"/> retries.</summary>
    /// <value>The default is <see cref="Kafka.HandlerFailurePolicy.Stop"/>.</value>
    public HandlerFailurePolicy HandlerFailurePolicy { get; set; } = HandlerFailurePolicy.Stop;

    /// <summary>What a consumer with typed handlers (and no <c>HandleOthers</c>) does with an event of a type none of them takes.</summary>
    /// <value>The default is <see cref="Kafka.UnknownEventTypePolicy.Skip"/>.</value>
    public UnknownEventTypePolicy UnknownEventTypePolicy { get; set; } = UnknownEventTypePolicy.Skip;

    /// <summary>The topic failed events go to under <see cref="Kafka.HandlerFailurePolicy.DeadLetter"/> or <see cref="Kafka.UnknownEventTypePolicy.DeadLetter"/>.</summary>
    /// <value>No default; required by those policies.</value>
    public string? DeadLetterTopic { get; set; }

    /// <summary>
    /// Settings of the producer that writes <see cref="DeadLetterTopic"/>, over the ones it takes from <see cref="ConsumerSettings"/>
    /// (<c>security.protocol</c>, <c>sasl.*</c>, <c>ssl.*</c>, <c>client.id</c>). It always uses <c>acks=all</c> and the idempotent producer.
    /// </summary>
    /// <value>Empty by default.</value>
    public IDictionary<string, string> DeadLetterProducerSettings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The default <see cref="MaxHealthyLag"/>: 10 000 records.</summary>
    public const long DefaultMaxHealthyLag = 10_000;

    /// <summary>Above this many records not yet handled on its partitions, the consumer's health check reports Degraded.</summary>
    /// <value>The default is 10 000. Positive.</value>
    public long MaxHealthyLag { get; set; } = DefaultMaxHealthyLag;

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

        var maxRetryDelayValid = MaxRetryDelay >= TimeSpan.FromMilliseconds(100) && MaxRetryDelay <= TimeSpan.FromMinutes(2);
        if (!maxRetryDelayValid)
        {
            errors.Add($"{nameof(MaxRetryDelay)} must be from 100 ms to 2 minutes (got {MaxRetryDelay}).");
        }

        if (RetryDelay <= TimeSpan.Zero || (maxRetryDelayValid && RetryDelay > MaxRetryDelay))
        {
            errors.Add($"{nameof(RetryDelay)} must be positive and at most {nameof(MaxRetryDelay)} (got {RetryDelay}).");
        }

        if (MaxRetryAttempts < 0)
        {
            errors.Add($"{nameof(MaxRetryAttempts)} must be 0 or more (got {MaxRetryAttempts}).");
        }

        if (!Enum.IsDefined(RetryBackoff))
        {
            errors.Add($"{nameof(RetryBackoff)} must be Constant, Linear or Exponential (got {(int)RetryBackoff}).");
        }

        if (!Enum.IsDefined(HandlerFailurePolicy))
        {
            errors.Add($"{nameof(HandlerFailurePolicy)} must be Stop, Skip or DeadLetter (got {(int)HandlerFailurePolicy}).");
        }

        if (!Enum.IsDefined(UnknownEventTypePolicy))
        {
            errors.Add($"{nameof(UnknownEventTypePolicy)} must be Skip, Stop or DeadLetter (got {(int)UnknownEventTypePolicy}).");
        }

        var deadLettering = HandlerFailurePolicy == HandlerFailurePolicy.DeadLetter || UnknownEventTypePolicy == UnknownEventTypePolicy.DeadLetter;
        if (deadLettering && string.IsNullOrWhiteSpace(DeadLetterTopic))
        {
            errors.Add($"{nameof(DeadLetterTopic)} is required when a policy is DeadLetter.");
        }
        else if (DeadLetterTopic is not null && (string.IsNullOrWhiteSpace(DeadLetterTopic) || DeadLetterTopic == Topic))
        {
            errors.Add($"{nameof(DeadLetterTopic)} must be a topic name other than {nameof(Topic)}.");
        }

        if (MaxHealthyLag <= 0)
        {
            errors.Add($"{nameof(MaxHealthyLag)} must be positive (got {MaxHealthyLag}).");
        }

        foreach (var (name, value) in DeadLetterProducerSettings)
        {
            switch (name)
            {
                case "bootstrap.servers" or "metadata.broker.list":
                    errors.Add($"{nameof(DeadLetterProducerSettings)}['{name}']: set {nameof(BootstrapServers)} instead.");
                    break;
                case "acks" or "request.required.acks" when value?.Trim() is not ("all" or "-1"):
                    errors.Add($"{nameof(DeadLetterProducerSettings)}['{name}'] must be 'all': a dead letter acknowledged by the leader alone is lost when the leader fails.");
                    break;
                case "enable.idempotence" when !string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase):
                    errors.Add($"{nameof(DeadLetterProducerSettings)}['{name}'] must stay true.");
                    break;
                case "transactional.id":
                    errors.Add($"{nameof(DeadLetterProducerSettings)}['{name}'] is not supported.");
                    break;
                default:
                    if (value is null)
                    {
                        errors.Add($"{nameof(DeadLetterProducerSettings)}['{name}'] has a null value.");
                    }

                    break;
            }
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

    /// <summary>The dead-letter producer: the consumer's security and client settings, then its own, then safe delivery on top.</summary>
    internal ProducerConfig ToDeadLetterProducerConfig()
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in ConsumerSettings)
        {
            if (name.StartsWith("sasl.", StringComparison.Ordinal) || name.StartsWith("ssl.", StringComparison.Ordinal)
                || name is "security.protocol" or "client.id" or "broker.address.family")
            {
                settings[name] = value;
            }
        }

        foreach (var (name, value) in DeadLetterProducerSettings)
        {
            settings[name] = value;
        }

        return new ProducerConfig(settings)
        {
            BootstrapServers = BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
        };
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
