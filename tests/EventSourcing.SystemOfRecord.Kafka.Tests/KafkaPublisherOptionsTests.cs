namespace EventSourcing.SystemOfRecord.Kafka.Tests;

[TestFixture]
public sealed class KafkaPublisherOptionsTests
{
    [Test]
    public void Validate_Defaults_OnlyBootstrapServersMissing()
    {
        var errors = new KafkaPublisherOptions().Validate();

        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.Contain("BootstrapServers"));
    }

    [Test]
    public void Validate_SettingsThatWeakenDelivery_AreRefusedByName()
    {
        var options = new KafkaPublisherOptions { BootstrapServers = "b:9092" };
        options.ProducerSettings["acks"] = "1";
        options.ProducerSettings["enable.idempotence"] = "false";
        options.ProducerSettings["max.in.flight.requests.per.connection"] = "10";
        options.ProducerSettings["message.timeout.ms"] = "1000";
        options.ProducerSettings["bootstrap.servers"] = "other:9092";
        options.ProducerSettings["sasl.password"] = "pa55word";

        var errors = options.Validate();

        Assert.That(errors, Has.Count.EqualTo(5));
        var text = string.Join(' ', errors);
        Assert.That(text, Does.Contain("acks").And.Contain("enable.idempotence").And.Contain("max.in.flight").And.Contain("PublishTimeout").And.Contain("BootstrapServers"));
        Assert.That(text, Does.Not.Contain("pa55word"));
    }

    [Test]
    public void ToProducerConfig_PassThroughSettings_KeptWithSafeDeliveryOnTop()
    {
        var options = new KafkaPublisherOptions { BootstrapServers = "b:9092", PublishTimeout = TimeSpan.FromSeconds(7) };
        options.ProducerSettings["compression.type"] = "zstd";
        options.ProducerSettings["security.protocol"] = "SASL_SSL";

        var config = options.ToProducerConfig();

        Assert.Multiple(() =>
        {
            Assert.That(config.Get("compression.type"), Is.EqualTo("zstd"));
            Assert.That(config.Get("security.protocol"), Is.EqualTo("SASL_SSL"));
            Assert.That(config.Acks, Is.EqualTo(Confluent.Kafka.Acks.All));
            Assert.That(config.EnableIdempotence, Is.True);
            Assert.That(config.MaxInFlight, Is.EqualTo(5));
            Assert.That(config.MessageTimeoutMs, Is.EqualTo(7000));
            Assert.That(config.BootstrapServers, Is.EqualTo("b:9092"));
        });
    }

    [Test]
    public void Validate_ExactlyOnceSettings_BadOnesRefusedByName()
    {
        var options = new KafkaPublisherOptions
        {
            BootstrapServers = "b:9092",
            ExactlyOnce = true,
            CursorTopic = "cursors of orders",
            TransactionalIdPrefix = "",
            PublishTimeout = TimeSpan.FromSeconds(90),
        };
        options.ProducerSettings["transactional.id"] = "mine";

        var errors = options.Validate();

        Assert.That(errors, Has.Count.EqualTo(4));
        var text = string.Join(' ', errors);
        Assert.That(text, Does.Contain("CursorTopic").And.Contain("TransactionalIdPrefix").And.Contain("transaction timeout").And.Contain("set ExactlyOnce"));
    }

    [Test]
    public void Validate_ExactlyOnceWithALongerTransactionTimeout_Accepted()
    {
        var options = new KafkaPublisherOptions { BootstrapServers = "b:9092", ExactlyOnce = true, PublishTimeout = TimeSpan.FromSeconds(90) };
        options.ProducerSettings["transaction.timeout.ms"] = "120000";

        Assert.That(options.Validate(), Is.Empty);
    }

    [Test]
    public void TransactionalId_Prefix_PutInFrontOfTheInstanceName()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new KafkaPublisherOptions().TransactionalId("orders-1"), Is.EqualTo("orders-1"));
            Assert.That(new KafkaPublisherOptions { TransactionalIdPrefix = "billing." }.TransactionalId("orders-1"), Is.EqualTo("billing.orders-1"));
            Assert.That(new KafkaPublisherOptions().CursorTopic, Is.EqualTo("system-of-record.publish-cursors"));
        });
    }
}
