using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>Settings of the <see cref="KafkaEventPublisher"/>.</summary>
public sealed class KafkaPublisherOptions
{
    /// <summary>The default <see cref="Source"/>.</summary>
    public const string DefaultSource = "/event-sourcing/system-of-record";

    /// <summary>The default <see cref="Type"/>.</summary>
    public const string DefaultType = "EventSourcing.SystemOfRecord.RecordedEvent";

    /// <summary>librdkafka's default <c>message.max.bytes</c>: the largest record the producer takes unless <see cref="ProducerSettings"/> says otherwise.</summary>
    internal const int DefaultMessageMaxBytes = 1_000_000;

    /// <summary>The default <see cref="CursorTopic"/>.</summary>
    public const string DefaultCursorTopic = "system-of-record.publish-cursors";

    /// <summary>librdkafka's default <c>transaction.timeout.ms</c>: 60 seconds.</summary>
    internal const int DefaultTransactionTimeoutMs = 60_000;

    /// <summary>The default <see cref="PublishTimeout"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultPublishTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The brokers to bootstrap from, <c>host:port</c> separated by commas (librdkafka's <c>bootstrap.servers</c>).</summary>
    /// <value>Required; there is no default.</value>
    public string? BootstrapServers { get; set; }

    /// <summary>
    /// How long a publish may take, retries included, before it fails (librdkafka's <c>message.timeout.ms</c>).
    /// The producer retries transient broker errors within this time without reordering or duplicating.
    /// </summary>
    /// <value>The default is 30 seconds. Positive, whole milliseconds, at most 24 days.</value>
    public TimeSpan PublishTimeout { get; set; } = DefaultPublishTimeout;

    /// <summary>The CloudEvents <c>source</c> attribute (<c>ce_source</c>): a URI reference naming the producing application.</summary>
    /// <value>The default is <c>/event-sourcing/system-of-record</c>.</value>
    public string Source { get; set; } = DefaultSource;

    /// <summary>The CloudEvents <c>type</c> attribute (<c>ce_type</c>).</summary>
    /// <value>The default is <c>EventSourcing.SystemOfRecord.RecordedEvent</c>.</value>
    public string Type { get; set; } = DefaultType;

    /// <summary>The CloudEvents <c>datacontenttype</c>, sent as the Kafka <c>content-type</c> header, e.g. <c>application/json</c>.</summary>
    /// <value>The default is <see langword="null"/>: no header.</value>
    public string? ContentType { get; set; }

    /// <summary>
    /// Publishes exactly once: through a transactional producer (<c>transactional.id</c> =
    /// <see cref="TransactionalIdPrefix"/> + the system of record's instance name), in transactions that also write the
    /// publish pipeline's cursor to <see cref="CursorTopic"/>. A consumer with <c>isolation.level=read_committed</c>
    /// (librdkafka's default) then sees every stored event once, across crashes and restarts, and a second process
    /// under the same instance name fences the first. Needs the core's publish recovery (<c>WithPublishRecovery()</c>);
    /// events are published by the system of record's publish pipeline only (<see cref="KafkaEventPublisher.PublishAsync"/>
    /// is refused).
    /// </summary>
    /// <value>The default is <see langword="false"/>: at least once, through the idempotent producer.</value>
    public bool ExactlyOnce { get; set; }

    /// <summary>
    /// With <see cref="ExactlyOnce"/>: the compacted topic that keeps each instance's publish cursor (key: the instance
    /// name), written in the same transaction as the records. Created (one partition, <c>cleanup.policy=compact</c>)
    /// when missing, which needs the permission to create topics; otherwise create it beforehand.
    /// </summary>
    /// <value>The default is <c>system-of-record.publish-cursors</c>.</value>
    public string CursorTopic { get; set; } = DefaultCursorTopic;

    /// <summary>
    /// With <see cref="ExactlyOnce"/>: put in front of the instance name to make the producer's <c>transactional.id</c>,
    /// e.g. to match a prefixed <c>TransactionalId</c> ACL or to keep two applications on one cluster apart.
    /// </summary>
    /// <value>The default is <see langword="null"/>: the transactional id is the instance name.</value>
    public string? TransactionalIdPrefix { get; set; }

    /// <summary>
    /// Any other librdkafka producer setting, passed through as is: <c>security.protocol</c>, <c>sasl.mechanism</c>,
    /// <c>sasl.username</c>, <c>sasl.password</c>, <c>ssl.ca.location</c>, <c>client.id</c>, <c>compression.type</c>, <c>linger.ms</c>...
    /// Values are never logged. Settings that would weaken delivery (<c>acks</c> other than <c>all</c>,
    /// <c>enable.idempotence=false</c>, more than 5 requests in flight) are refused at start.
    /// </summary>
    /// <value>Empty by default.</value>
    public IDictionary<string, string> ProducerSettings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Every problem with these options, or an empty list. Names settings, never their values.</summary>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            errors.Add($"{nameof(BootstrapServers)} is required (host:port, comma separated).");
        }

        if (PublishTimeout <= TimeSpan.Zero || PublishTimeout.Ticks % TimeSpan.TicksPerMillisecond != 0 || PublishTimeout.TotalMilliseconds > int.MaxValue)
        {
            errors.Add($"{nameof(PublishTimeout)} must be positive whole milliseconds of at most 24 days (got {PublishTimeout}).");
        }

        if (string.IsNullOrWhiteSpace(Source))
        {
            errors.Add($"{nameof(Source)} must be a non-empty URI reference (the CloudEvents source).");
        }

        if (string.IsNullOrWhiteSpace(Type))
        {
            errors.Add($"{nameof(Type)} must be non-empty (the CloudEvents type).");
        }

        if (ContentType is not null && string.IsNullOrWhiteSpace(ContentType))
        {
            errors.Add($"{nameof(ContentType)} must be null or a media type.");
        }

        if (CursorTopic is null || TopicNames.Problem(CursorTopic) is not null)
        {
            errors.Add($"{nameof(CursorTopic)}: {(CursorTopic is null ? "a topic name is required." : TopicNames.Problem(CursorTopic))}");
        }

        if (TransactionalIdPrefix is not null && (TransactionalIdPrefix.Length == 0 || TransactionalIdPrefix.Any(char.IsControl)))
        {
            errors.Add($"{nameof(TransactionalIdPrefix)} must be null or non-empty text without control characters.");
        }

        if (ExactlyOnce)
        {
            var transactionTimeoutMs = DefaultTransactionTimeoutMs;
            if (ProducerSettings.TryGetValue("transaction.timeout.ms", out var text)
                && !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out transactionTimeoutMs))
            {
                errors.Add($"{nameof(ProducerSettings)}['transaction.timeout.ms'] must be whole milliseconds.");
            }
            else if (PublishTimeout.TotalMilliseconds > transactionTimeoutMs)
            {
                errors.Add($"{nameof(PublishTimeout)} ({PublishTimeout}) must not exceed the transaction timeout ({transactionTimeoutMs} ms, {nameof(ProducerSettings)}['transaction.timeout.ms']): "
                    + "Kafka aborts a transaction that stays open longer.");
            }
        }

        foreach (var (name, value) in ProducerSettings)
        {
            if (value is null)
            {
                errors.Add($"{nameof(ProducerSettings)}['{name}'] has a null value.");
                continue;
            }

            switch (name)
            {
                case "bootstrap.servers" or "metadata.broker.list":
                    errors.Add($"{nameof(ProducerSettings)}['{name}']: set {nameof(BootstrapServers)} instead.");
                    break;
                case "message.timeout.ms" or "delivery.timeout.ms":
                    errors.Add($"{nameof(ProducerSettings)}['{name}']: set {nameof(PublishTimeout)} instead.");
                    break;
                case "acks" or "request.required.acks" when value.Trim() is not ("all" or "-1"):
                    errors.Add($"{nameof(ProducerSettings)}['{name}'] must be 'all': a record acknowledged by the leader alone is lost when the leader fails.");
                    break;
                case "enable.idempotence" when !string.Equals(value.Trim(), "true", StringComparison.OrdinalIgnoreCase):
                    errors.Add($"{nameof(ProducerSettings)}['{name}'] must stay true: without it broker-side retries can duplicate or reorder records.");
                    break;
                case "max.in.flight.requests.per.connection" or "max.in.flight"
                    when !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var inFlight) || inFlight is < 1 or > 5:
                    errors.Add($"{nameof(ProducerSettings)}['{name}'] must be 1 to 5: the idempotent producer keeps order only up to 5 requests in flight.");
                    break;
                case "transactional.id":
                    errors.Add($"{nameof(ProducerSettings)}['{name}'] is not supported: set {nameof(ExactlyOnce)} (the transactional id is {nameof(TransactionalIdPrefix)} + the instance name).");
                    break;
            }
        }

        return errors;
    }

    /// <summary>The transactional id of <paramref name="instanceName"/>'s producer.</summary>
    internal string TransactionalId(string instanceName) => TransactionalIdPrefix + instanceName;

    /// <summary>
    /// The configuration of the clients that look after <see cref="CursorTopic"/> (an admin client, a consumer): the
    /// pass-through settings (security, client id, backoffs...), the brokers, and no topic created by accident.
    /// </summary>
    internal Dictionary<string, string> ToClientSettings() => new(ProducerSettings, StringComparer.Ordinal)
    {
        ["bootstrap.servers"] = BootstrapServers!,
        ["allow.auto.create.topics"] = "false",
    };

    /// <summary>The producer configuration: the pass-through settings, then the safe delivery settings on top.</summary>
    internal ProducerConfig ToProducerConfig()
    {
        var config = new ProducerConfig(new Dictionary<string, string>(ProducerSettings, StringComparer.Ordinal))
        {
            BootstrapServers = BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            MessageTimeoutMs = (int)PublishTimeout.TotalMilliseconds,
        };

        if (!ProducerSettings.ContainsKey("max.in.flight.requests.per.connection") && !ProducerSettings.ContainsKey("max.in.flight"))
        {
            config.MaxInFlight = 5;
        }

        // The publisher reads only the outcome of a delivery report (and its partition and offset, which always come):
        // copying key, value and headers back into each report costs about 1 KB and a microsecond per record.
        if (!ProducerSettings.ContainsKey("dotnet.producer.delivery.report.fields"))
        {
            config.DeliveryReportFields = "status";
        }

        return config;
    }
}

/// <summary>Validates <see cref="KafkaPublisherOptions"/> at start, with one message naming every bad setting.</summary>
internal sealed class KafkaPublisherOptionsValidator : IValidateOptions<KafkaPublisherOptions>
{
    public ValidateOptionsResult Validate(string? name, KafkaPublisherOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
