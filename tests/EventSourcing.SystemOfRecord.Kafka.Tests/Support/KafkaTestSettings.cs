using EventSourcing.SystemOfRecord.Kafka.Testing;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>Client settings that keep tests moving: short backoffs and metadata refreshes, so nothing sits idle.</summary>
internal static class KafkaTestSettings
{
    public static KafkaPublisherOptions Publisher(KafkaMockCluster cluster, TimeSpan? publishTimeout = null)
    {
        var options = new KafkaPublisherOptions();
        Publisher(options, cluster.BootstrapServers, publishTimeout ?? TimeSpan.FromSeconds(30));
        return options;
    }

    /// <summary>Sets <paramref name="options"/> as <see cref="Publisher(KafkaMockCluster, TimeSpan?)"/> does: for <c>UseKafka</c>, and for a child process that only knows the address.</summary>
    public static void Publisher(KafkaPublisherOptions options, string bootstrapServers, TimeSpan publishTimeout)
    {
        options.BootstrapServers = bootstrapServers;
        options.PublishTimeout = publishTimeout;
        options.Source = "/tests/kafka";
        options.Type = "tests.event";
        options.ContentType = "application/json";
        options.ProducerSettings["reconnect.backoff.ms"] = "50";
        options.ProducerSettings["reconnect.backoff.max.ms"] = "500";
        options.ProducerSettings["retry.backoff.ms"] = "50";
        options.ProducerSettings["retry.backoff.max.ms"] = "500";
        options.ProducerSettings["topic.metadata.refresh.interval.ms"] = "1000";
        options.ProducerSettings["linger.ms"] = "2";
    }

    public static void Consumer(KafkaConsumerOptions options, KafkaMockCluster cluster, string topic, string groupId)
    {
        options.BootstrapServers = cluster.BootstrapServers;
        options.Topic = topic;
        options.GroupId = groupId;
        options.MaxRetryDelay = TimeSpan.FromMilliseconds(200);
        options.ConsumerSettings["session.timeout.ms"] = "6000";
        options.ConsumerSettings["heartbeat.interval.ms"] = "300";
        options.ConsumerSettings["auto.commit.interval.ms"] = "200";
        options.ConsumerSettings["topic.metadata.refresh.interval.ms"] = "1000";
        options.ConsumerSettings["reconnect.backoff.max.ms"] = "500";
        options.ConsumerSettings["fetch.wait.max.ms"] = "50";
    }

    public static string NewTopic(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>A system of record on the in-memory store publishing through a fresh <see cref="KafkaEventPublisher"/>.</summary>
    public static (SystemOfRecord System, KafkaEventPublisher Publisher, InMemoryEventStore Store) CreateSystem(KafkaPublisherOptions publisherOptions, string topic)
    {
        var publisher = new KafkaEventPublisher(Options.Create(publisherOptions));
        var store = new InMemoryEventStore();
        var system = new SystemOfRecord(store, publisher, Options.Create(new SystemOfRecordOptions { DefaultTopic = topic, BucketIncrement = TimeSpan.FromSeconds(1) }));
        return (system, publisher, store);
    }
}
