using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka.Tests;

[TestFixture]
public sealed class KafkaSystemOfRecordBuilderExtensionsTests
{
    [Test]
    public async Task UseKafka_AppendThroughContainer_OnePublisherAndTheEventOnTheTopic()
    {
        using var cluster = new KafkaMockCluster();
        var topic = KafkaTestSettings.NewTopic("di");
        cluster.CreateTopic(topic, partitions: 1);
        var services = new ServiceCollection();
        services.AddSystemOfRecord(o => o.DefaultTopic = topic)
            .UseKafka(k => k.BootstrapServers = cluster.BootstrapServers)
            .UseKafka(k => k.Source = "/orders-service");
        await using (var provider = services.BuildServiceProvider())
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            var publisher = provider.GetRequiredService<IEventPublisher>();
            Assert.That(publisher, Is.SameAs(provider.GetRequiredService<KafkaEventPublisher>()));

            var e = await provider.GetRequiredService<SystemOfRecord>().AppendAsync("{}", key: "k");

            var records = TopicReader.ReadAll(cluster.BootstrapServers, topic, 1);
            Assert.That(records.Single().Header("ce_id"), Is.EqualTo(e.EventId.ToString()));
            Assert.That(records.Single().Header("ce_source"), Is.EqualTo("/orders-service"), "configure calls add up");
        }
    }

    [TestCase(PublishMode.Acknowledged, null, "0")]
    [TestCase(PublishMode.Committed, null, null)]
    [TestCase(PublishMode.Acknowledged, "7", "7")]
    public void UseKafka_PublishMode_LingerIsZeroOnlyWhenEveryAppendWaitsAndTheUserDidNotSetIt(PublishMode mode, string? userLinger, string? expected)
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord(o => o.PublishMode = mode).UseKafka(k =>
        {
            k.BootstrapServers = "localhost:9092";
            if (userLinger is not null)
            {
                k.ProducerSettings["linger.ms"] = userLinger;
            }
        });
        using var provider = services.BuildServiceProvider();

        var settings = provider.GetRequiredService<IOptions<KafkaPublisherOptions>>().Value.ProducerSettings;

        Assert.That(settings.TryGetValue("linger.ms", out var linger) ? linger : null, Is.EqualTo(expected));
    }

    [Test]
    public void UseKafka_InvalidOptions_StartupValidationNamesEverySetting()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord().UseKafka(k =>
        {
            k.Type = " ";
            k.ProducerSettings["enable.idempotence"] = "false";
        });
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(provider.GetRequiredService<IStartupValidator>().Validate);

        Assert.That(failure!.Message, Does.Contain("BootstrapServers").And.Contain("Type").And.Contain("enable.idempotence"));
    }

    [Test]
    public async Task UseKafka_ExactlyOnceWithoutPublishRecovery_TheFirstAppendSaysWhatIsMissingAndStoresNothing()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord(o => o.DefaultTopic = "orders")
            .UseInMemory()
            .UseKafka(k =>
            {
                k.BootstrapServers = "127.0.0.1:1"; // never reached
                k.ExactlyOnce = true;
            });
        await using var provider = services.BuildServiceProvider();
        var system = provider.GetRequiredService<SystemOfRecord>();

        Assert.That(async () => await system.AppendAsync("{}"), Throws.InvalidOperationException.With.Message.Contains("WithPublishRecovery"));
        Assert.That(await StoreContents.ReadAllAsync(system.Store), Is.Empty);
    }
}
