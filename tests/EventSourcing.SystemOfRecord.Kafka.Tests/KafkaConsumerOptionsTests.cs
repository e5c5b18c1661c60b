namespace EventSourcing.SystemOfRecord.Kafka.Tests;

[TestFixture]
public sealed class KafkaConsumerOptionsTests
{
    [Test]
    public void Validate_EveryBadSetting_NamedOnce()
    {
        var options = new KafkaConsumerOptions { MaxRetryDelay = TimeSpan.FromMilliseconds(1), PoisonRecordPolicy = (PoisonRecordPolicy)7 };
        options.ConsumerSettings["enable.auto.offset.store"] = "true";
        options.ConsumerSettings["group.id"] = "g";
        options.ConsumerSettings["sasl.password"] = "pa55word";

        var errors = options.Validate();

        var text = string.Join(' ', errors);
        Assert.That(errors, Has.Count.EqualTo(7));
        Assert.That(text, Does.Contain("BootstrapServers").And.Contain("Topic").And.Contain("GroupId").And.Contain("MaxRetryDelay")
            .And.Contain("PoisonRecordPolicy").And.Contain("enable.auto.offset.store").And.Contain("group.id"));
        Assert.That(text, Does.Not.Contain("pa55word"));
    }

    [Test]
    public void Validate_BadRetryAndFailureSettings_NamedOnceEach()
    {
        var options = new KafkaConsumerOptions
        {
            BootstrapServers = "b:9092",
            Topic = "t",
            GroupId = "g",
            RetryDelay = TimeSpan.FromMinutes(1),
            MaxRetryAttempts = -1,
            RetryBackoff = (Polly.DelayBackoffType)9,
            HandlerFailurePolicy = HandlerFailurePolicy.DeadLetter,
            UnknownEventTypePolicy = (UnknownEventTypePolicy)9,
            MaxHealthyLag = 0,
        };
        options.DeadLetterProducerSettings["acks"] = "1";

        var errors = options.Validate();

        var text = string.Join(' ', errors);
        Assert.That(errors, Has.Count.EqualTo(7), text);
        Assert.That(text, Does.Contain("RetryDelay").And.Contain("MaxRetryAttempts").And.Contain("RetryBackoff").And.Contain("UnknownEventTypePolicy")
            .And.Contain("DeadLetterTopic is required").And.Contain("MaxHealthyLag").And.Contain("DeadLetterProducerSettings['acks']"));
    }

    [Test]
    public void Validate_DeadLetterTopicIsTheConsumedTopic_Refused()
    {
        var options = new KafkaConsumerOptions { BootstrapServers = "b:9092", Topic = "t", GroupId = "g", HandlerFailurePolicy = HandlerFailurePolicy.DeadLetter, DeadLetterTopic = "t" };

        Assert.That(options.Validate(), Has.One.Contains("DeadLetterTopic must be a topic name other than Topic"));
    }

    [Test]
    public void ToDeadLetterProducerConfig_TakesTheConsumersSecuritySettingsAndStaysSafe()
    {
        var options = new KafkaConsumerOptions { BootstrapServers = "b:9092", Topic = "t", GroupId = "g" };
        options.ConsumerSettings["security.protocol"] = "SASL_SSL";
        options.ConsumerSettings["sasl.username"] = "u";
        options.ConsumerSettings["session.timeout.ms"] = "6000";
        options.DeadLetterProducerSettings["linger.ms"] = "1";

        var config = options.ToDeadLetterProducerConfig();

        Assert.Multiple(() =>
        {
            Assert.That(config.Get("security.protocol"), Is.EqualTo("SASL_SSL"));
            Assert.That(config.SaslUsername, Is.EqualTo("u"));
            Assert.That(config.Get("session.timeout.ms"), Is.Null, "consumer-only settings stay with the consumer");
            Assert.That(config.LingerMs, Is.EqualTo(1));
            Assert.That(config.Acks, Is.EqualTo(Confluent.Kafka.Acks.All));
            Assert.That(config.EnableIdempotence, Is.True);
            Assert.That(config.BootstrapServers, Is.EqualTo("b:9092"));
        });
    }

    [Test]
    public void ToConsumerConfig_Defaults_StoreOffsetsOnlyAfterHandlingAndReadFromEarliest()
    {
        var options = new KafkaConsumerOptions { BootstrapServers = "b:9092", Topic = "t", GroupId = "g" };
        options.ConsumerSettings["client.id"] = "me";

        var config = options.ToConsumerConfig();

        Assert.Multiple(() =>
        {
            Assert.That(config.EnableAutoOffsetStore, Is.False);
            Assert.That(config.EnableAutoCommit, Is.True);
            Assert.That(config.AutoOffsetReset, Is.EqualTo(Confluent.Kafka.AutoOffsetReset.Earliest));
            Assert.That(config.GroupId, Is.EqualTo("g"));
            Assert.That(config.ClientId, Is.EqualTo("me"));
        });
    }
}
