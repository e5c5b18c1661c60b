namespace EventSourcing.SystemOfRecord.Tests.Publishing;

public class InMemoryEventPublisherTests
{
    private static RecordedEvent Event(string message) =>
        new(new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc), TimeUuid.Create(), "events", null, message);

    [Test]
    public async Task PublishAsync_TwoSubscribers_BothSeeEveryEventInOrder()
    {
        using var publisher = new InMemoryEventPublisher();
        var first = new List<string>();
        var second = new List<string>();
        using var a = publisher.Subscribe((e, _) => { first.Add(e.Message); return ValueTask.CompletedTask; });
        using var b = publisher.Subscribe((e, _) => { second.Add(e.Message); return ValueTask.CompletedTask; });

        foreach (var m in new[] { "1", "2", "3" })
        {
            await publisher.PublishAsync(Event(m), CancellationToken.None);
        }

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(new[] { "1", "2", "3" }));
            Assert.That(second, Is.EqualTo(first));
            Assert.That(publisher.PublishedCount, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Subscribe_Disposed_StopsDelivery()
    {
        using var publisher = new InMemoryEventPublisher();
        var seen = 0;
        var subscription = publisher.Subscribe((_, _) => { seen++; return ValueTask.CompletedTask; });

        await publisher.PublishAsync(Event("1"), CancellationToken.None);
        subscription.Dispose();
        subscription.Dispose();
        await publisher.PublishAsync(Event("2"), CancellationToken.None);

        Assert.That(seen, Is.EqualTo(1));
    }

    [Test]
    public async Task PublishAsync_SubscriberThrows_OthersStillRunAndPublishFails()
    {
        using var publisher = new InMemoryEventPublisher();
        var reached = false;
        using var failing = publisher.Subscribe((_, _) => throw new InvalidOperationException("downstream broke"));
        using var healthy = publisher.Subscribe((_, _) => { reached = true; return ValueTask.CompletedTask; });

        Assert.That(async () => await publisher.PublishAsync(Event("1"), CancellationToken.None),
            Throws.InvalidOperationException.With.Message.EqualTo("downstream broke"));
        Assert.That(reached, Is.True);
        await Task.CompletedTask;
    }

    [Test]
    public async Task PublishedCount_AFailedPublishTriedAgain_CountsTheEventOnce()
    {
        using var publisher = new InMemoryEventPublisher();
        var fail = true;
        using var flaky = publisher.Subscribe((_, _) => fail ? throw new InvalidOperationException("downstream away") : ValueTask.CompletedTask);
        var e = Event("1");

        Assert.That(async () => await publisher.PublishAsync(e, CancellationToken.None), Throws.InvalidOperationException);
        fail = false;
        await publisher.PublishAsync(e, CancellationToken.None); // the pipeline's retry

        Assert.That(publisher.PublishedCount, Is.EqualTo(1), "a publish that failed published nothing");
    }

    [Test]
    public async Task PublishAsync_PipelinedWithAsyncSubscriber_DeliversInCallOrder()
    {
        using var publisher = new InMemoryEventPublisher();
        var seen = new List<string>();
        using var subscription = publisher.Subscribe(async (e, _) =>
        {
            await Task.Yield();
            lock (seen)
            {
                seen.Add(e.Message);
            }
        });

        var pending = Enumerable.Range(0, 200).Select(i => publisher.PublishAsync(Event(i.ToString()), CancellationToken.None).AsTask()).ToArray();
        await Task.WhenAll(pending);

        Assert.That(seen, Is.EqualTo(Enumerable.Range(0, 200).Select(i => i.ToString())));
    }
}
