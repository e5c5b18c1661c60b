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
