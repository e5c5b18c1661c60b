using System.Collections.Concurrent;
using System.Diagnostics;
using EventSourcing.SystemOfRecord.Kafka.Testing;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Kafka.Tests;

[EventType("orders.placed.v1")]
public sealed record OrderPlaced(int OrderId, decimal Total);

public sealed record OrderShipped(int OrderId, string Carrier);

public sealed record OrderCancelled(int OrderId);

/// <summary>Typed consumers over the wire: dispatch by type, unknown types, retries, the failure policies, idempotency, health.</summary>
[TestFixture]
public sealed class KafkaEventConsumerBuilderTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private KafkaMockCluster _cluster = null!;
    private KafkaEventPublisher _publisher = null!;
    private SystemOfRecord _system = null!;
    private string _topic = null!;

    [SetUp]
    public void SetUp()
    {
        _cluster = new KafkaMockCluster(brokers: 1);
        _topic = KafkaTestSettings.NewTopic("typed");
        _cluster.CreateTopic(_topic, partitions: 1, replicationFactor: 1);
        (_system, _publisher, _) = KafkaTestSettings.CreateSystem(KafkaTestSettings.Publisher(_cluster), _topic);
    }

    [TearDown]
    public void TearDown()
    {
        _system.Dispose();
        _publisher.Dispose();
        _cluster.Dispose();
    }

    [Test]
    public async Task Handle_TypedEvents_EachHandlerGetsItsTypeWithTheRecordedMetadataAndUnknownTypesAreSkipped()
    {
        var placed = await _system.AppendAsync(new OrderPlaced(1, 9.5m), key: "order-1");
        var shipped = await _system.AppendAsync(new OrderShipped(1, "ups"), key: "order-1");
        await _system.AppendAsync(new OrderCancelled(1), key: "order-1");
        await _system.AppendAsync("{\"untyped\":true}", key: "order-1");
        var last = await _system.AppendAsync(new OrderPlaced(2, 1m), key: "order-2");
        var seen = new ConcurrentQueue<(object Event, RecordedEvent Recorded, long Offset, int Attempt, string Group)>();

        await using var host = await new TypedConsumerHost(_cluster, _topic, "typed-group", c => c
            .Handle<OrderPlaced>((e, context, _) => Record(e, context))
            .Handle<OrderShipped>((e, context, _) => Record(e, context))).StartAsync();
        // The service counts an event once its handler returned, on its own thread: wait for the count too.
        await Eventually.UntilAsync(() => seen.Count >= 3 && host.Service.HandledCount >= 3, "three typed events were handled and counted", Deadline);

        var events = seen.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(events.Select(s => s.Event), Is.EqualTo(new object[] { new OrderPlaced(1, 9.5m), new OrderShipped(1, "ups"), new OrderPlaced(2, 1m) }));
            Assert.That(events[0].Recorded, Is.EqualTo(placed with { Instance = null }), "the context carries the event as recorded (the appending instance stays in the store)");
            Assert.That(events[1].Recorded.EventId, Is.EqualTo(shipped.EventId));
            Assert.That(events[2].Recorded.EventId, Is.EqualTo(last.EventId));
            Assert.That(events.Select(s => s.Offset), Is.EqualTo(new long[] { 0, 1, 4 }), "the cancelled and the untyped events were skipped");
            Assert.That(events.All(s => s.Attempt == 1 && s.Group == "typed-group"), Is.True);
            Assert.That(host.Service.HandledCount, Is.EqualTo(3));
            Assert.That(host.Service.ExecuteTask!.IsCompleted, Is.False, "skipping unknown types keeps the consumer running");
        });

        ValueTask Record(object e, KafkaEventContext context)
        {
            seen.Enqueue((e, context.Event, context.Offset, context.Attempt, context.GroupId));
            return ValueTask.CompletedTask;
        }
    }

    [Test]
    public async Task HandleOthers_EventsWithoutATypedHandler_GoThereWithScopedServices()
    {
        await _system.AppendAsync(new OrderPlaced(1, 1m));
        await _system.AppendAsync(new OrderCancelled(1));
        await _system.AppendAsync("plain text");
        var typed = new ConcurrentQueue<OrderPlaced>();
        var others = new ConcurrentQueue<(string? Type, Scoped Scoped)>();

        await using var host = await new TypedConsumerHost(
            _cluster,
            _topic,
            "others-group",
            c => c
                .Handle<OrderPlaced>((e, _, _) =>
                {
                    typed.Enqueue(e);
                    return ValueTask.CompletedTask;
                })
                .HandleOthers((e, context, _) =>
                {
                    others.Enqueue((e.Type, context.Services.GetRequiredService<Scoped>()));
                    return ValueTask.CompletedTask;
                }),
            services: s => s.AddScoped<Scoped>()).StartAsync();
        await Eventually.UntilAsync(() => others.Count >= 2, "both other events were handled", Deadline);

        Assert.Multiple(() =>
        {
            Assert.That(typed, Is.EqualTo(new[] { new OrderPlaced(1, 1m) }));
            Assert.That(others.Select(o => o.Type), Is.EqualTo(new[] { "OrderCancelled", "tests.event" }));
            Assert.That(others.Select(o => o.Scoped).Distinct().Count(), Is.EqualTo(2), "a scope per event");
        });
    }

    [Test]
    public async Task UnknownEventTypePolicyDeadLetter_UnknownTypeGoesToTheDeadLetterTopicAndTheRestIsHandled()
    {
        var deadLetters = _topic + "-dlq";
        _cluster.CreateTopic(deadLetters, partitions: 1, replicationFactor: 1);
        var cancelled = await _system.AppendAsync(new OrderCancelled(7), key: "order-7");
        await _system.AppendAsync(new OrderPlaced(8, 2m));
        var handled = new ConcurrentQueue<OrderPlaced>();

        await using var host = await new TypedConsumerHost(
            _cluster,
            _topic,
            "unknown-dlq",
            c => c.Handle<OrderPlaced>((e, _, _) =>
            {
                handled.Enqueue(e);
                return ValueTask.CompletedTask;
            }),
            o =>
            {
                o.UnknownEventTypePolicy = UnknownEventTypePolicy.DeadLetter;
                o.DeadLetterTopic = deadLetters;
            }).StartAsync();
        await Eventually.UntilAsync(() => !handled.IsEmpty, "the known event was handled", Deadline);

        var dead = TopicReader.ReadAll(_cluster.BootstrapServers, deadLetters, 1).Single();
        Assert.Multiple(() =>
        {
            Assert.That(dead.Value, Is.EqualTo(cancelled.Message));
            Assert.That(dead.Key, Is.EqualTo("order-7"));
            Assert.That(dead.Header("ce_id"), Is.EqualTo(cancelled.EventId.ToString()), "the dead letter is still the CloudEvent");
            Assert.That(dead.Header("ce_type"), Is.EqualTo("OrderCancelled"));
            Assert.That(dead.Header("sor-dlq-reason"), Is.EqualTo("unknown_type"));
            Assert.That(dead.Header("sor-dlq-original-topic"), Is.EqualTo(_topic));
            Assert.That(dead.Header("sor-dlq-original-partition"), Is.EqualTo("0"));
            Assert.That(dead.Header("sor-dlq-original-offset"), Is.EqualTo("0"));
            Assert.That(dead.Header("sor-dlq-consumer-group"), Is.EqualTo("unknown-dlq"));
            Assert.That(host.Service.DeadLetteredCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task HandlerFailsPastItsRetries_DeadLetter_RecordGoesThereWithTheErrorAndLaterEventsAreHandled()
    {
        var deadLetters = _topic + "-dlq";
        _cluster.CreateTopic(deadLetters, partitions: 1, replicationFactor: 1);
        var poisoned = await _system.AppendAsync(new OrderPlaced(13, 0m));
        await _system.AppendAsync(new OrderPlaced(14, 1m));
        var attempts = new ConcurrentDictionary<int, int>();
        var handled = new ConcurrentQueue<int>();

        await using var host = await new TypedConsumerHost(
            _cluster,
            _topic,
            "retry-dlq",
            c => c.Handle<OrderPlaced>((e, context, _) =>
            {
                attempts.AddOrUpdate(e.OrderId, context.Attempt, (_, _) => context.Attempt);
                if (e.OrderId == 13)
                {
                    throw new InvalidOperationException("order 13 is cursed");
                }

                handled.Enqueue(e.OrderId);
                return ValueTask.CompletedTask;
            }),
            o =>
            {
                o.MaxRetryAttempts = 2;
                o.RetryDelay = TimeSpan.FromMilliseconds(10);
                o.HandlerFailurePolicy = HandlerFailurePolicy.DeadLetter;
                o.DeadLetterTopic = deadLetters;
            }).StartAsync();
        await Eventually.UntilAsync(() => handled.Contains(14), "the event after the failing one was handled", Deadline);

        var dead = TopicReader.ReadAll(_cluster.BootstrapServers, deadLetters, 1).Single();
        Assert.Multiple(() =>
        {
            Assert.That(attempts[13], Is.EqualTo(3), "one call and two retries");
            Assert.That(dead.Header("ce_id"), Is.EqualTo(poisoned.EventId.ToString()));
            Assert.That(dead.Header("sor-dlq-reason"), Is.EqualTo("handler_failed"));
            Assert.That(dead.Header("sor-dlq-attempts"), Is.EqualTo("3"));
            Assert.That(dead.Header("sor-dlq-exception-type"), Is.EqualTo(typeof(InvalidOperationException).FullName));
            Assert.That(dead.Header("sor-dlq-exception-message"), Is.EqualTo("order 13 is cursed"));
            Assert.That(handled, Is.EqualTo(new[] { 14 }));
        });
    }

    [Test]
    public async Task EventThatCannotBeDeserialized_IsNotRetriedAndGoesToTheFailurePolicy()
    {
        var broken = new RecordedEvent(DateTime.UnixEpoch, TimeUuid.Create(), _topic, "k", "{not json") { Type = "orders.placed.v1", ContentType = "application/json" };
        await _publisher.PublishAsync(broken, CancellationToken.None);
        await _system.AppendAsync(new OrderPlaced(2, 2m));
        var calls = 0;

        await using var host = await new TypedConsumerHost(
            _cluster,
            _topic,
            "undeserializable",
            c => c.Handle<OrderPlaced>((_, _, _) =>
            {
                Interlocked.Increment(ref calls);
                return ValueTask.CompletedTask;
            }),
            o =>
            {
                o.MaxRetryAttempts = 5;
                o.HandlerFailurePolicy = HandlerFailurePolicy.Skip;
            }).StartAsync();
        await Eventually.UntilAsync(() => host.Service.HandledCount >= 1, "the readable event was handled", Deadline);

        Assert.That(Volatile.Read(ref calls), Is.EqualTo(1), "the unreadable event never reached the handler and was skipped at once");
    }

    [Test]
    public async Task HandlerFailsPastItsRetries_Stop_ConsumerFailsUnhealthyAndTheNextMemberStartsAtTheEvent()
    {
        var first = await _system.AppendAsync(new OrderPlaced(1, 1m));
        var failing = await _system.AppendAsync(new OrderPlaced(2, 2m));
        var handled = new ConcurrentQueue<int>();

        await using (var stopping = await new TypedConsumerHost(
            _cluster,
            _topic,
            "stop-group",
            c => c.Handle<OrderPlaced>((e, _, _) =>
            {
                if (e.OrderId == 2)
                {
                    throw new TimeoutException("downstream down");
                }

                handled.Enqueue(e.OrderId);
                return ValueTask.CompletedTask;
            }),
            o =>
            {
                o.MaxRetryAttempts = 1;
                o.RetryDelay = TimeSpan.FromMilliseconds(10);
            }).StartAsync())
        {
            await Eventually.UntilAsync(() => stopping.Service.ExecuteTask!.IsCompleted, "the consumer stopped", Deadline);
            var failure = stopping.Service.ExecuteTask!.Exception?.InnerException as KafkaHandlerFailedException;
            var health = await stopping.CheckHealthAsync();
            Assert.Multiple(() =>
            {
                Assert.That(failure, Is.Not.Null);
                Assert.That(failure!.EventId, Is.EqualTo(failing.EventId));
                Assert.That(failure.Offset, Is.EqualTo(1));
                Assert.That(failure.InnerException, Is.InstanceOf<TimeoutException>());
                Assert.That(failure.Message, Does.Contain("failed 2 times"));
                Assert.That(handled, Is.EqualTo(new[] { 1 }));
                Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy));
                Assert.That(health.Description, Does.Contain("has stopped").And.Contain(failing.EventId.ToString()));
            });
        }

        // The failing event's offset was not committed: a member whose handler works starts right at it.
        var again = new ConcurrentQueue<int>();
        await using var next = await new TypedConsumerHost(_cluster, _topic, "stop-group", c => c.Handle<OrderPlaced>((e, _, _) =>
        {
            again.Enqueue(e.OrderId);
            return ValueTask.CompletedTask;
        })).StartAsync();
        await Eventually.UntilAsync(() => !again.IsEmpty, "the next member handled the event", Deadline);
        Assert.That(again, Is.EqualTo(new[] { 2 }), $"event {first.EventId} was committed, event {failing.EventId} was not");
    }

    [Test]
    public async Task HandlerThrowsACancellationOfItsOwn_ServiceRunning_RetriedLikeAnyFailure()
    {
        await _system.AppendAsync(new OrderPlaced(1, 1m));
        await _system.AppendAsync(new OrderPlaced(2, 2m));
        var attempts = new ConcurrentDictionary<int, int>();
        var handled = new ConcurrentQueue<int>();

        // What HttpClient throws when its own timeout passes: a downstream hiccup, not the service stopping.
        await using var host = await new TypedConsumerHost(
            _cluster,
            _topic,
            "own-cancellation",
            c => c.Handle<OrderPlaced>((e, context, _) =>
            {
                attempts[e.OrderId] = context.Attempt;
                return e.OrderId == 1 && context.Attempt == 1 ? throw new TaskCanceledException("the downstream timed out") : Enqueue(handled, e.OrderId);
            }),
            o => o.RetryDelay = TimeSpan.FromMilliseconds(10)).StartAsync();
        await Eventually.UntilAsync(() => handled.Count >= 2 || host.Service.ExecuteTask!.IsCompleted, "both events were handled, or the consumer stopped", Deadline);

        Assert.Multiple(() =>
        {
            Assert.That(host.Service.ExecuteTask!.IsCompleted, Is.False, host.Service.ExecuteTask.Exception?.InnerException?.Message);
            Assert.That(handled, Is.EqualTo(new[] { 1, 2 }));
            Assert.That(attempts[1], Is.EqualTo(2), "one failure, one retry");
        });
    }

    [Test]
    public async Task HandlerFailsPastItsRetries_Skip_CommitsPastItAndGoesOn()
    {
        await _system.AppendAsync(new OrderPlaced(1, 1m));
        await _system.AppendAsync(new OrderPlaced(2, 2m));
        var handled = new ConcurrentQueue<int>();

        await using var host = await new TypedConsumerHost(
            _cluster,
            _topic,
            "skip-group",
            c => c.Handle<OrderPlaced>((e, _, _) => e.OrderId == 1 ? throw new InvalidOperationException("no") : Enqueue(handled, e.OrderId)),
            o =>
            {
                o.MaxRetryAttempts = 0;
                o.HandlerFailurePolicy = HandlerFailurePolicy.Skip;
            }).StartAsync();
        await Eventually.UntilAsync(() => !handled.IsEmpty, "the second event was handled", Deadline);

        Assert.That(handled, Is.EqualTo(new[] { 2 }));
        Assert.That(host.Service.ExecuteTask!.IsCompleted, Is.False);
    }

    [Test]
    public async Task WithIdempotency_ReplayedEvents_AreAppliedOnceAndDeliveredTwice()
    {
        var start = DateTime.UtcNow.AddSeconds(-1);
        for (var i = 1; i <= 3; i++)
        {
            await _system.AppendAsync(new OrderPlaced(i, i));
        }

        var applied = new ConcurrentQueue<int>();
        await using var host = await new TypedConsumerHost(
            _cluster,
            _topic,
            "idempotent-group",
            c => c.Handle<OrderPlaced>((e, _, _) => Enqueue(applied, e.OrderId)).WithIdempotency(o => o.RetentionWindow = TimeSpan.FromDays(1))).StartAsync();
        await Eventually.UntilAsync(() => applied.Count >= 3, "the three events were applied", Deadline);

        var republished = await _system.RepublishDateRangeAsync(start, DateTime.UtcNow.AddSeconds(1));
        await Eventually.UntilAsync(() => host.Service.HandledCount >= 6, "the replayed events were delivered", Deadline);

        Assert.Multiple(() =>
        {
            Assert.That(republished, Is.EqualTo(3));
            Assert.That(applied, Is.EqualTo(new[] { 1, 2, 3 }), "each event applied once");
            Assert.That(host.Services.GetRequiredService<IProcessedEventLog>(), Is.InstanceOf<InMemoryProcessedEventLog>(), "the in-memory log is the default");
        });
    }

    [Test]
    public async Task SlowHandler_LongerThanMaxPollInterval_MemberStaysInItsGroupAndHandlesTheEventOnce()
    {
        await _system.AppendAsync(new OrderPlaced(1, 1m));
        await _system.AppendAsync(new OrderPlaced(2, 2m));
        var calls = new ConcurrentQueue<int>();

        await using var host = await new TypedConsumerHost(
            _cluster,
            _topic,
            "slow-group",
            c => c.Handle<OrderPlaced>(async (e, _, ct) =>
            {
                calls.Enqueue(e.OrderId);
                if (e.OrderId == 1)
                {
                    // Longer than max.poll.interval.ms: without polling meanwhile the member would be thrown out.
                    await Task.Delay(TimeSpan.FromSeconds(8), ct);
                }
            }),
            o => o.ConsumerSettings["max.poll.interval.ms"] = "6000").StartAsync();
        await Eventually.UntilAsync(() => host.Service.HandledCount >= 2, "both events were handled", Deadline);

        Assert.Multiple(() =>
        {
            Assert.That(calls, Is.EqualTo(new[] { 1, 2 }), "no redelivery: the member never left its group");
            Assert.That(host.Service.AssignedPartitionCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task HealthCheck_RunningLaggingAndStopped_ReportsEach()
    {
        for (var i = 0; i < 20; i++)
        {
            await _system.AppendAsync(new OrderPlaced(i, i));
        }

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = new TypedConsumerHost(
            _cluster,
            _topic,
            "health-group",
            c => c.Handle<OrderPlaced>(async (e, _, ct) => await gate.Task.WaitAsync(ct)),
            o => o.MaxHealthyLag = 5);
        var notStarted = await host.CheckHealthAsync();
        await host.StartAsync();

        await Eventually.UntilAsync(() => host.Service.Lag > 5, "the consumer saw its lag", Deadline);
        var lagging = await host.CheckHealthAsync();
        gate.SetResult();
        await Eventually.UntilAsync(() => host.Service.HandledCount == 20, "every event was handled", Deadline);
        var healthy = await host.CheckHealthAsync();
        await host.StopAsync();
        var stopped = await host.CheckHealthAsync();

        Assert.Multiple(() =>
        {
            Assert.That(notStarted.Status, Is.EqualTo(HealthStatus.Degraded));
            Assert.That(lagging.Status, Is.EqualTo(HealthStatus.Degraded));
            Assert.That(lagging.Description, Does.Contain("lags 19 records"));
            Assert.That(healthy.Status, Is.EqualTo(HealthStatus.Healthy), healthy.Description);
            Assert.That(healthy.Data[$"{_topic}/health-group.lag"], Is.EqualTo(0L));
            Assert.That(healthy.Data[$"{_topic}/health-group.handled"], Is.EqualTo(20L));
            Assert.That(stopped.Status, Is.EqualTo(HealthStatus.Unhealthy));
        });
    }

    [Test]
    public void AddKafkaEventConsumer_NoHandler_FailsAtStartNamingTheFix()
    {
        var services = new ServiceCollection();
        services.AddKafkaEventConsumer(o => KafkaTestSettings.Consumer(o, _cluster, _topic, "g"));
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<InvalidOperationException>(() => provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>().ToList());

        Assert.That(failure!.Message, Does.Contain("no handler").And.Contain("Handle<TEvent>"));
    }

    [Test]
    public void Handle_SameTypeTwice_Throws()
    {
        var builder = new ServiceCollection().AddKafkaEventConsumer(o => KafkaTestSettings.Consumer(o, _cluster, _topic, "g"))
            .Handle<OrderPlaced>((_, _, _) => ValueTask.CompletedTask);

        Assert.Throws<ArgumentException>(() => builder.Handle<OrderPlaced>((_, _, _) => ValueTask.CompletedTask));
    }

    [Test]
    public void Handle_TwoTypesWithOneName_FailsAtStart()
    {
        var services = new ServiceCollection();
        services.MapEventType<OrderShipped>("orders.placed.v1");
        services.AddKafkaEventConsumer(o => KafkaTestSettings.Consumer(o, _cluster, _topic, "g"))
            .Handle<OrderPlaced>((_, _, _) => ValueTask.CompletedTask)
            .Handle<OrderShipped>((_, _, _) => ValueTask.CompletedTask);
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<InvalidOperationException>(() => provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>().ToList());

        Assert.That(failure!.Message, Does.Contain("two handlers for the event type 'orders.placed.v1'"));
    }

    private static ValueTask Enqueue(ConcurrentQueue<int> queue, int value)
    {
        queue.Enqueue(value);
        return ValueTask.CompletedTask;
    }

    private sealed class Scoped;
}
