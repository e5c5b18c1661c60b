using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace EventSourcing.SystemOfRecord.Tests;

public class SystemOfRecordTests
{
    private static readonly DateTime Start = new(2024, 6, 1, 10, 0, 0, DateTimeKind.Utc);

    private FakeTimeProvider _clock = default!;
    private InMemoryEventStore _store = default!;
    private InMemoryEventPublisher _publisher = default!;
    private List<RecordedEvent> _published = default!;

    [SetUp]
    public void SetUp()
    {
        _clock = new FakeTimeProvider(new DateTimeOffset(Start));
        _store = new InMemoryEventStore();
        _publisher = new InMemoryEventPublisher();
        _published = [];
        _publisher.Subscribe((e, _) =>
        {
            lock (_published)
            {
                _published.Add(e);
            }

            return ValueTask.CompletedTask;
        });
    }

    [TearDown]
    public void TearDown() => _publisher.Dispose();

    private SystemOfRecord Create(Action<DateTime>? strategy = null, IEventStore? store = null, IEventPublisher? publisher = null, TimeSpan? increment = null) =>
        new(store ?? _store, publisher ?? _publisher,
            Options.Create(new SystemOfRecordOptions { BucketIncrement = increment ?? TimeSpan.FromSeconds(15) }),
            strategy, _clock);

    [Test]
    public async Task AppendAsync_RecordsThenPublishesTheSameEvent()
    {
        using var sor = Create();

        var e = await sor.AppendAsync("{\"order\":42}", key: "order-42");

        var stored = new List<RecordedEvent>();
        await foreach (var s in sor.ReadBucketAsync(e.TimeBucket))
        {
            stored.Add(s);
        }

        Assert.Multiple(() =>
        {
            Assert.That(stored, Is.EqualTo(new[] { e }));
            Assert.That(_published, Is.EqualTo(new[] { e }));
            Assert.That(e.Topic, Is.EqualTo("events"));
            Assert.That(e.Key, Is.EqualTo("order-42"));
            Assert.That(e.Timestamp, Is.EqualTo(Start));
            Assert.That(e.TimeBucket, Is.EqualTo(Start));
        });
    }

    [Test]
    public async Task AppendAsync_TimestampInsideBucket_BucketIsEpochAligned()
    {
        _clock.SetUtcNow(new DateTimeOffset(Start.AddSeconds(29.9)));
        using var sor = Create();

        var e = await sor.AppendAsync("m");

        Assert.That(e.TimeBucket, Is.EqualTo(Start.AddSeconds(15)));
    }

    [Test]
    public async Task AppendAsync_StoreFails_NothingPublishedAndErrorSurfaces()
    {
        var store = new Mock<IEventStore>();
        store.Setup(s => s.AppendAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new IOException("disk full"));
        using var sor = Create(store: store.Object);

        Assert.That(async () => await sor.AppendAsync("m"), Throws.InstanceOf<IOException>().With.Message.EqualTo("disk full"));
        Assert.That(_published, Is.Empty);
    }

    [Test]
    public async Task AppendAsync_PublisherFails_ThrowsEventPublishExceptionCarryingTheRecordedEvent()
    {
        var publisher = new Mock<IEventPublisher>();
        publisher.Setup(p => p.PublishAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new InvalidOperationException("broker down"));
        using var sor = Create(publisher: publisher.Object);

        var ex = Assert.ThrowsAsync<EventPublishException>(async () => await sor.AppendAsync("m", key: "k"));

        var stored = await ToListAsync(sor.ReadBucketAsync(ex!.Event.TimeBucket));
        Assert.Multiple(() =>
        {
            Assert.That(stored, Is.EqualTo(new[] { ex.Event }));
            Assert.That(ex.InnerException!.Message, Is.EqualTo("broker down"));
            Assert.That(ex.Message, Does.Contain(ex.Event.EventId.ToString()));
        });
    }

    [Test]
    public void AppendAsync_BadInput_ThrowsBeforeWriting()
    {
        var store = new Mock<IEventStore>(MockBehavior.Strict);
        using var sor = Create(store: store.Object);
        var tooBig = new string('é', (SystemOfRecordOptions.DefaultMaxMessageBytes / 2) + 1);

        Assert.Multiple(() =>
        {
            Assert.That(async () => await sor.AppendAsync(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("message"));
            Assert.That(async () => await sor.AppendAsync("m", topic: " "), Throws.ArgumentException.With.Property("ParamName").EqualTo("topic"));
            Assert.That(async () => await sor.AppendAsync(tooBig), Throws.ArgumentException.With.Message.Contain("MaxMessageBytes"));
            Assert.That(async () => await sor.AppendAsync("m", headers: new Dictionary<string, string> { ["h"] = null! }),
                Throws.ArgumentException.With.Message.Contain("'h'"));
        });
        store.VerifyNoOtherCalls();
    }

    [Test]
    public async Task Append_Synchronous_RecordsAndPublishes()
    {
        using var sor = Create();

        var e = sor.Append("m", topic: "orders", headers: new Dictionary<string, string> { ["a"] = "b" });

        Assert.Multiple(() =>
        {
            Assert.That(_published, Is.EqualTo(new[] { e }));
            Assert.That(e.Topic, Is.EqualTo("orders"));
            Assert.That(e.Headers["a"], Is.EqualTo("b"));
        });
        Assert.That(await ToListAsync(sor.ReadBucketAsync(e.TimeBucket)), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Append_PublisherFails_ThrowsEventPublishExceptionAndKeepsTheEvent()
    {
        var publisher = new Mock<IEventPublisher>();
        publisher.Setup(p => p.PublishAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>()))
            .Returns(async () => { await Task.Yield(); throw new InvalidOperationException("broker down"); });
        using var sor = Create(publisher: publisher.Object);

        var ex = Assert.Throws<EventPublishException>(() => sor.Append("m"));

        Assert.Multiple(async () =>
        {
            Assert.That(ex!.InnerException!.Message, Is.EqualTo("broker down"));
            Assert.That(ex.RecoveryScheduled, Is.False);
            Assert.That(await ToListAsync(sor.ReadBucketAsync(ex.Event.TimeBucket)), Is.EqualTo(new[] { ex.Event }));
        });
    }

    [Test]
    public void Append_StoreFails_NothingPublished()
    {
        var store = new Mock<IEventStore>();
        store.Setup(s => s.AppendAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>()))
            .Returns(async () => { await Task.Yield(); throw new IOException("disk full"); });
        using var sor = Create(store: store.Object);

        Assert.That(() => sor.Append("m"), Throws.InstanceOf<IOException>());
        Assert.That(_published, Is.Empty);
    }

    [Test]
    public async Task Append_ManyBlockingCallersOnPoolThreads_AllRecordedAndPublished()
    {
        using var sor = Create();

        // Each caller blocks a pool thread; the synchronous path must not need another one to finish.
        await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => sor.Append($"m{i}"))));

        Assert.Multiple(() =>
        {
            Assert.That(_store.Count, Is.EqualTo(64));
            Assert.That(_published.Select(e => e.Message), Is.EquivalentTo(Enumerable.Range(0, 64).Select(i => $"m{i}")));
        });
    }

    [Test]
    public async Task AppendAsync_ClockStandsStill_IdsStillIncrease()
    {
        using var sor = Create();

        var first = await sor.AppendAsync("1");
        var second = await sor.AppendAsync("2");

        Assert.That(second.EventId, Is.GreaterThan(first.EventId));
    }

    [Test]
    public void ReplayDateRange_AlignedRange_CallsStrategyForEachBucketEndExclusive()
    {
        var seen = new List<DateTime>();
        using var sor = Create(seen.Add);

        sor.ReplayDateRange(Start, Start.AddMinutes(1));

        Assert.That(seen, Is.EqualTo(new[] { Start, Start.AddSeconds(15), Start.AddSeconds(30), Start.AddSeconds(45) }));
    }

    [Test]
    public void ReplayDateRange_UnalignedRange_StartsAtStartsBucketAndIncludesEndsBucket()
    {
        var seen = new List<DateTime>();
        using var sor = Create(seen.Add);

        sor.ReplayDateRange(Start.AddSeconds(7), Start.AddSeconds(31));

        Assert.That(seen, Is.EqualTo(new[] { Start, Start.AddSeconds(15), Start.AddSeconds(30) }));
    }

    [Test]
    public void ReplayDateRange_StartEqualsEnd_ReplaysNothing()
    {
        var seen = new List<DateTime>();
        using var sor = Create(seen.Add);

        sor.ReplayDateRange(Start, Start);

        Assert.That(seen, Is.Empty);
    }

    [Test]
    public void ReplayDateRange_BadTimes_ThrowClearly()
    {
        using var sor = Create(_ => { });

        Assert.Multiple(() =>
        {
            Assert.That(() => sor.ReplayDateRange(Start.AddSeconds(1), Start), Throws.ArgumentException.With.Message.Contain("after it ends"));
            Assert.That(() => sor.ReplayDateRange(DateTime.SpecifyKind(Start, DateTimeKind.Unspecified), Start.AddHours(1)),
                Throws.ArgumentException.With.Message.Contain("UTC").And.Property("ParamName").EqualTo("start"));
        });
    }

    [Test]
    public void ReplayDateRange_LocalTimes_ConvertedToUtc()
    {
        var seen = new List<DateTime>();
        using var sor = Create(seen.Add);

        sor.ReplayDateRange(Start.ToLocalTime(), Start.AddSeconds(15).ToLocalTime());

        Assert.That(seen, Is.EqualTo(new[] { Start }));
        Assert.That(seen[0].Kind, Is.EqualTo(DateTimeKind.Utc));
    }

    [Test]
    public void ReplayDateRange_DateTimeOffsets_UseTheirUtcInstant()
    {
        var seen = new List<DateTime>();
        using var sor = Create(seen.Add);

        sor.ReplayDateRange(new DateTimeOffset(Start).ToOffset(TimeSpan.FromHours(-5)), new DateTimeOffset(Start.AddSeconds(30)).ToOffset(TimeSpan.FromHours(9)));

        Assert.That(seen, Is.EqualTo(new[] { Start, Start.AddSeconds(15) }));
    }

    [Test]
    public void ReplayDateRange_AYearOf15SecondBuckets_CallsTheStrategy2Point1MillionTimes()
    {
        long calls = 0;
        DateTime last = default;
        using var sor = Create(b => { calls++; last = b; });

        sor.ReplayDateRange(Start, Start.AddDays(365));

        Assert.Multiple(() =>
        {
            Assert.That(calls, Is.EqualTo(365L * 24 * 60 * 4));
            Assert.That(last, Is.EqualTo(Start.AddDays(365).AddSeconds(-15)));
        });
    }

    [Test]
    public async Task ReplayDateRange_NoStrategy_RepublishesStoredEvents()
    {
        using var sor = Create();
        var e1 = await sor.AppendAsync("1");
        _clock.Advance(TimeSpan.FromSeconds(20));
        var e2 = await sor.AppendAsync("2");
        _published.Clear();

        sor.ReplayDateRange(Start, Start.AddMinutes(1));

        Assert.That(_published, Is.EqualTo(new[] { e1, e2 }));
    }

    [Test]
    public async Task ReplayDateRangeAsync_Cancelled_StopsBetweenBuckets()
    {
        using var sor = Create();
        using var cts = new CancellationTokenSource();
        var seen = new List<DateTime>();

        Assert.That(async () => await sor.ReplayDateRangeAsync(Start, Start.AddHours(1), async (b, ct) =>
        {
            seen.Add(b);
            if (seen.Count == 3)
            {
                await cts.CancelAsync();
            }
        }, cts.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task RepublishDateRangeAsync_SendsEveryEventInRangeInOrderAndCounts()
    {
        using var sor = Create();
        var inRange = new List<RecordedEvent>();
        for (var i = 0; i < 10; i++)
        {
            inRange.Add(await sor.AppendAsync($"m{i}", key: $"k{i % 3}"));
            _clock.Advance(TimeSpan.FromSeconds(5));
        }

        var outside = await sor.AppendAsync("later");
        _published.Clear();

        var count = await sor.RepublishDateRangeAsync(Start, outside.TimeBucket);

        Assert.Multiple(() =>
        {
            Assert.That(count, Is.EqualTo(inRange.Count(e => e.TimeBucket < outside.TimeBucket)));
            Assert.That(_published, Is.EqualTo(inRange.Where(e => e.TimeBucket < outside.TimeBucket)));
        });
    }

    [Test]
    public async Task RepublishDateRangeAsync_PublisherKeepsFailing_RetriesWithBackoffThenThrows()
    {
        using var seeded = Create();
        await seeded.AppendAsync("a");
        var failing = new Mock<IEventPublisher>();
        failing.Setup(p => p.PublishAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>())).ThrowsAsync(new TimeoutException("no ack"));
        using var sor = Create(publisher: failing.Object);

        var republish = sor.RepublishDateRangeAsync(Start, Start.AddMinutes(1));
        while (!republish.IsCompleted)
        {
            _clock.Advance(TimeSpan.FromSeconds(1)); // the backoff between attempts runs on the system of record's clock
            await Task.WhenAny(republish, Task.Delay(10));
        }

        Assert.That(async () => await republish, Throws.InstanceOf<TimeoutException>());
        failing.Verify(p => p.PublishAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>()), Times.Exactly(4));
    }

    [Test]
    public async Task RepublishDateRangeAsync_OneEventRefusedForGood_ThrowsTheRefusalOnceEveryEventWasTried()
    {
        using var seeded = Create();
        for (var i = 0; i < 10; i++)
        {
            await seeded.AppendAsync($"m{i}");
        }

        var tried = new List<string>();
        var publisher = new Mock<IEventPublisher>();
        publisher.Setup(p => p.PublishAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>()))
            .Returns((RecordedEvent e, CancellationToken _) =>
            {
                lock (tried)
                {
                    tried.Add(e.Message);
                }

                return e.Message == "m3" ? ValueTask.FromException(new ArgumentException("refused for good")) : ValueTask.CompletedTask;
            });
        using var sor = Create(publisher: publisher.Object);

        var ex = Assert.ThrowsAsync<ArgumentException>(async () => await sor.RepublishDateRangeAsync(Start, Start.AddMinutes(1)));

        Assert.That(ex!.Message, Does.Contain("refused for good"));
        lock (tried)
        {
            Assert.That(tried, Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"m{i}")), "every event sent once, in order, before the call returns");
        }
    }

    [Test]
    public async Task RepublishDateRangeAsync_CancelledWhileSendsAreOutstanding_ThrowsCancellation()
    {
        using var seeded = Create();
        for (var i = 0; i < 10; i++)
        {
            await seeded.AppendAsync($"m{i}");
        }

        var acknowledgement = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = 0;
        var publisher = new Mock<IEventPublisher>();
        publisher.Setup(p => p.PublishAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>()))
            .Returns(() =>
            {
                Interlocked.Increment(ref sent);
                return new ValueTask(acknowledgement.Task);
            });
        using var sor = Create(publisher: publisher.Object);
        using var cancellation = new CancellationTokenSource();

        var republish = sor.RepublishDateRangeAsync(Start, Start.AddMinutes(1), cancellation.Token);
        await Eventually.UntilAsync(() => Volatile.Read(ref sent) == 10, "every send handed to the publisher");
        await cancellation.CancelAsync();

        Assert.That(async () => await republish, Throws.InstanceOf<OperationCanceledException>());
        acknowledgement.SetResult();
    }

    [Test]
    public async Task Constructor_StoreCreatedWithOtherIncrement_AppendFailsWithMismatch()
    {
        await _store.EnsureCreatedAsync(TimeSpan.FromSeconds(30));
        using var sor = Create();

        Assert.That(async () => await sor.AppendAsync("m"), Throws.InstanceOf<BucketIncrementMismatchException>());
        Assert.That(_store.Count, Is.Zero);
    }

    [Test]
    public void Constructor_InvalidOptions_NamesEveryBadSetting()
    {
        var options = new SystemOfRecordOptions { BucketIncrement = TimeSpan.FromTicks(15), DefaultTopic = "", MaxMessageBytes = 0 };

        var ex = Assert.Throws<OptionsValidationException>(() => new SystemOfRecord(_store, _publisher, Options.Create(options)));

        Assert.That(ex!.Message, Does.Contain("BucketIncrement").And.Contain("DefaultTopic").And.Contain("MaxMessageBytes"));
    }

    [TestCase(0)]
    [TestCase(-1000)]
    [TestCase(86_400_001)]
    public void Constructor_BadIncrement_Refused(long milliseconds)
    {
        var options = new SystemOfRecordOptions { BucketIncrement = TimeSpan.FromMilliseconds(milliseconds) };

        Assert.That(() => new SystemOfRecord(_store, _publisher, Options.Create(options)),
            Throws.InstanceOf<OptionsValidationException>().With.Message.Contain("BucketIncrement"));
    }

    [Test]
    public void SeedConstructor_Uses15SecondBucketsAndInMemoryComponents()
    {
        var seen = new List<DateTime>();
        using var sor = new SystemOfRecord(seen.Add);

        sor.ReplayDateRange(Start, Start.AddSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(sor.BucketIncrement, Is.EqualTo(TimeSpan.FromSeconds(15)));
            Assert.That(sor.Store, Is.InstanceOf<InMemoryEventStore>());
            Assert.That(sor.Publisher, Is.InstanceOf<InMemoryEventPublisher>());
            Assert.That(seen, Has.Count.EqualTo(2));
            Assert.That(() => new SystemOfRecord(null!), Throws.ArgumentNullException);
        });
    }

    [Test]
    public void GetBucket_BeforeUnixEpoch_FloorsDownward()
    {
        using var sor = Create();

        Assert.Multiple(() =>
        {
            Assert.That(sor.GetBucket(DateTime.UnixEpoch.AddSeconds(-1)), Is.EqualTo(DateTime.UnixEpoch.AddSeconds(-15)));
            Assert.That(sor.GetBucket(DateTime.UnixEpoch.AddSeconds(14.999)), Is.EqualTo(DateTime.UnixEpoch));
            Assert.That(sor.GetBucket(new DateTimeOffset(Start.AddSeconds(16)).ToOffset(TimeSpan.FromHours(3))), Is.EqualTo(Start.AddSeconds(15)));
        });
    }

    [Test]
    public async Task Dispose_ThenAppend_ThrowsObjectDisposed()
    {
        var sor = Create();
        await sor.DisposeAsync();

        Assert.That(async () => await sor.AppendAsync("m"), Throws.InstanceOf<ObjectDisposedException>());
    }

    private static async Task<List<RecordedEvent>> ToListAsync(IAsyncEnumerable<RecordedEvent> source)
    {
        var list = new List<RecordedEvent>();
        await foreach (var e in source)
        {
            list.Add(e);
        }

        return list;
    }

    [Test]
    public void GetBucket_AtDateTimeMinValueWithAnIncrementThatDoesNotDivideIt_RefusedClearly()
    {
        using var sor = Create(increment: TimeSpan.FromSeconds(7));

        Assert.Multiple(() =>
        {
            Assert.That(() => sor.GetBucket(DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc)),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("timestamp").And.Message.Contains("before DateTime.MinValue"));
            Assert.That(() => sor.GetBucket(DateTimeOffset.MinValue), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("timestamp"));
            Assert.That(() => sor.ReplayDateRange(DateTimeOffset.MinValue, DateTimeOffset.MinValue.AddMinutes(1)), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("start"));
        });
    }

    [Test]
    public void ReplayDateRange_EndingAtDateTimeMaxValue_CallsEveryBucketThenStopsWithoutOverflow()
    {
        var seen = new List<DateTime>();
        using var sor = Create(seen.Add);
        var end = DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc);

        sor.ReplayDateRange(end.AddMinutes(-1), end);

        Assert.Multiple(() =>
        {
            Assert.That(seen, Has.Count.EqualTo(5), "the four whole buckets and the last, partial one");
            Assert.That(seen[^1], Is.EqualTo(sor.GetBucket(end)));
            Assert.That(() => sor.ReplayDateRange(end.AddMinutes(-1), DateTime.MaxValue), Throws.ArgumentException.With.Property("ParamName").EqualTo("end"), "DateTime.MaxValue itself is Unspecified");
        });
    }
}
