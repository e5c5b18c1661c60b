using System.Collections.Concurrent;

namespace EventSourcing.SystemOfRecord.Tests.Storage;

/// <summary>Creates the stores a contract run works on; one per store implementation.</summary>
public interface IEventStoreFixture : IAsyncDisposable
{
    /// <summary>A new, empty store that nothing else uses.</summary>
    Task<IEventStore> CreateStoreAsync();

    /// <summary>
    /// Another instance over the same data as <paramref name="store"/>, as a second process or a restart would open it
    /// (an in-memory store returns itself).
    /// </summary>
    Task<IEventStore> OpenSameStoreAsync(IEventStore store);
}

/// <summary>
/// The life cycle the store contracts share: a new store from <typeparamref name="TFixture"/> before each test, every
/// store a test opened disposed after it.
/// </summary>
public abstract class StoreContractTests<TFixture>
    where TFixture : IEventStoreFixture, new()
{
    private readonly List<IEventStore> _opened = [];
    private TFixture _fixture = default!;

    /// <summary>The store under test, new for each test.</summary>
    protected IEventStore Store { get; private set; } = default!;

    [SetUp]
    public async Task SetUpStore()
    {
        _fixture = new TFixture();
        Store = await _fixture.CreateStoreAsync();
        _opened.Add(Store);
    }

    [TearDown]
    public async Task TearDownStore()
    {
        foreach (var store in _opened.Distinct())
        {
            switch (store)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }

        _opened.Clear();
        await _fixture.DisposeAsync();
    }

    /// <summary>Another instance over the same data, as a restart or a second process would open it.</summary>
    protected async Task<IEventStore> OpenSameAsync()
    {
        var store = await _fixture.OpenSameStoreAsync(Store);
        _opened.Add(store);
        return store;
    }
}

/// <summary>
/// What every <see cref="IEventStore"/> does. A store's test project subclasses it in one line:
/// <c>public sealed class SqliteEventStoreContractTests : EventStoreContractTests&lt;SqliteStoreFixture&gt;;</c>
/// (link this file into the test project with a <c>Compile Include</c>).
/// </summary>
[TestFixture]
public abstract class EventStoreContractTests<TFixture> : StoreContractTests<TFixture>
    where TFixture : IEventStoreFixture, new()
{
    private static readonly TimeSpan Increment = TimeSpan.FromSeconds(15);
    private static readonly DateTime Origin = new(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    [Test]
    public async Task AppendAsync_ThenReadBucket_ReturnsEveryField()
    {
        await Store.EnsureCreatedAsync(Increment);
        var headers = new Dictionary<string, string> { ["trace-id"] = "abc", ["tenant"] = "7" };
        var appended = Event(Origin.AddSeconds(3), "{\"order\":42}", key: "order-42", topic: "orders", headers: headers);

        await Store.AppendAsync(appended);
        var read = await ReadAsync(Store, appended.TimeBucket);

        Assert.That(read, Has.Count.EqualTo(1));
        var only = read[0];
        Assert.Multiple(() =>
        {
            Assert.That(only, Is.EqualTo(appended));
            Assert.That(only.EventId, Is.EqualTo(appended.EventId));
            Assert.That(only.TimeBucket, Is.EqualTo(appended.TimeBucket));
            Assert.That(only.TimeBucket.Kind, Is.EqualTo(DateTimeKind.Utc));
            Assert.That(only.Timestamp, Is.EqualTo(appended.Timestamp));
            Assert.That(only.Topic, Is.EqualTo("orders"));
            Assert.That(only.Key, Is.EqualTo("order-42"));
            Assert.That(only.Message, Is.EqualTo("{\"order\":42}"));
            Assert.That(only.Headers, Is.EquivalentTo(headers));
        });
    }

    [Test]
    public async Task AppendAsync_TypeContentTypeInstanceAndTraceContext_ReadBackUnchanged()
    {
        await Store.EnsureCreatedAsync(Increment);
        var appended = Event(Origin.AddSeconds(1), "{\"order\":42}", key: "order-42") with
        {
            Type = "orders.placed.v1",
            ContentType = "application/json",
            Instance = "orders-7",
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            TraceState = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
        };

        await Store.AppendAsync(appended);
        var only = (await ReadAsync(Store, appended.TimeBucket)).Single();

        Assert.Multiple(() =>
        {
            Assert.That(only, Is.EqualTo(appended));
            Assert.That(only.Type, Is.EqualTo("orders.placed.v1"));
            Assert.That(only.ContentType, Is.EqualTo("application/json"));
            Assert.That(only.Instance, Is.EqualTo("orders-7"));
            Assert.That(only.TraceParent, Is.EqualTo(appended.TraceParent));
            Assert.That(only.TraceState, Is.EqualTo(appended.TraceState));
        });
    }

    [Test]
    public async Task AppendAsync_NoTypeInstanceOrTraceContext_ReadBackAsNull()
    {
        await Store.EnsureCreatedAsync(Increment);
        var appended = Event(Origin, "m");

        await Store.AppendAsync(appended);
        var only = (await ReadAsync(Store, appended.TimeBucket)).Single();

        Assert.Multiple(() =>
        {
            Assert.That(only.Type, Is.Null);
            Assert.That(only.ContentType, Is.Null);
            Assert.That(only.Instance, Is.Null);
            Assert.That(only.TraceParent, Is.Null);
            Assert.That(only.TraceState, Is.Null);
        });
    }

    [Test]
    public async Task AppendAsync_NullKeyAndNoHeaders_ReadBackAsNullAndEmpty()
    {
        await Store.EnsureCreatedAsync(Increment);
        var appended = Event(Origin, "m");

        await Store.AppendAsync(appended);
        var only = (await ReadAsync(Store, appended.TimeBucket)).Single();

        Assert.Multiple(() =>
        {
            Assert.That(only.Key, Is.Null);
            Assert.That(only.Headers, Is.Not.Null.And.Empty);
        });
    }

    [Test]
    public async Task ReadBucketAsync_EventsAppendedOutOfOrder_ReturnsEventIdOrder()
    {
        await Store.EnsureCreatedAsync(Increment);
        var random = new Random(7);
        var events = Enumerable.Range(0, 200)
            .Select(i => Event(Origin.AddTicks(random.NextInt64(0, Increment.Ticks)), $"m{i}"))
            .ToList();

        foreach (var e in events.OrderBy(_ => random.Next()))
        {
            await Store.AppendAsync(e);
        }

        var read = await ReadAsync(Store, Origin);

        Assert.That(read.Select(e => e.EventId), Is.EqualTo(events.Select(e => e.EventId).Order()));
    }

    [Test]
    public async Task ReadBucketAsync_SameTimestampDifferentClockSequences_OrdersAsTimeUuidCompares()
    {
        await Store.EnsureCreatedAsync(Increment);

        // TimeUuid.Create(t) moves the clock sequence on at every call: equal timestamps, distinct ids.
        var events = Enumerable.Range(0, 50).Select(i => Event(Origin.AddSeconds(1), $"m{i}")).ToList();
        foreach (var e in events)
        {
            await Store.AppendAsync(e);
        }

        var read = await ReadAsync(Store, Origin);

        Assert.That(read.Select(e => e.EventId), Is.EqualTo(events.Select(e => e.EventId).Order()));
    }

    [Test]
    public async Task ReadBucketAsync_NeighbourBuckets_AreIsolated()
    {
        await Store.EnsureCreatedAsync(Increment);
        var before = Event(Origin - TimeSpan.FromTicks(1), "before");
        var first = Event(Origin, "first");
        var last = Event(Origin + Increment - TimeSpan.FromTicks(1), "last");
        var after = Event(Origin + Increment, "after");
        foreach (var e in new[] { after, last, before, first })
        {
            await Store.AppendAsync(e);
        }

        var read = await ReadAsync(Store, Origin);

        Assert.That(read.Select(e => e.Message), Is.EqualTo(new[] { "first", "last" }));
    }

    [Test]
    public async Task ReadBucketAsync_EmptyBucket_ReturnsNothing()
    {
        await Store.EnsureCreatedAsync(Increment);
        await Store.AppendAsync(Event(Origin, "elsewhere"));

        var read = await ReadAsync(Store, Origin + Increment);

        Assert.That(read, Is.Empty);
    }

    [Test]
    public async Task ReadBucketAsync_LargeBucket_StreamsEveryEventInOrder()
    {
        const int count = 100_000;
        await Store.EnsureCreatedAsync(Increment);
        var ids = new TimeUuid[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
        {
            var e = Event(Origin.AddTicks(i * (Increment.Ticks / count)), $"event {i}");
            ids[i] = e.EventId;
            await Store.AppendAsync(e, ct);
        });

        long seen = 0;
        TimeUuid? previous = null;
        var inOrder = true;
        await foreach (var e in Store.ReadBucketAsync(Origin))
        {
            inOrder &= previous is null || previous.Value.CompareTo(e.EventId) < 0;
            previous = e.EventId;
            seen++;
        }

        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(count));
            Assert.That(inOrder, Is.True, "events came back out of event id order");
        });
    }

    [Test]
    public async Task AppendAsync_ConcurrentAppenders_StoresEveryEventOnce()
    {
        await Store.EnsureCreatedAsync(Increment);
        var appended = new ConcurrentBag<RecordedEvent>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 2_000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var e = Event(Origin.AddTicks(i), $"m{i}", key: $"k{i % 10}");
            await Store.AppendAsync(e, ct);
            appended.Add(e);
        });

        var read = await ReadAsync(Store, Origin);

        Assert.That(read.Select(e => e.EventId), Is.EqualTo(appended.Select(e => e.EventId).Order()));
    }

    [TestCase("")]
    [TestCase("héllo wörld — 日本語 🎉")]
    [TestCase("line1\nline2\r\n\t\"quoted\" 'single' \\ \0 nul")]
    public async Task AppendAsync_AnyMessageText_RoundTripsExactly(string message)
    {
        await Store.EnsureCreatedAsync(Increment);
        var appended = Event(Origin, message, key: "ключ-🔑");

        await Store.AppendAsync(appended);
        var only = (await ReadAsync(Store, Origin)).Single();

        Assert.Multiple(() =>
        {
            Assert.That(only.Message, Is.EqualTo(message));
            Assert.That(only.Key, Is.EqualTo("ключ-🔑"));
        });
    }

    [Test]
    public async Task AppendAsync_Headers_RoundTripByContent()
    {
        await Store.EnsureCreatedAsync(Increment);
        var headers = new Dictionary<string, string>
        {
            ["empty"] = "",
            ["ünïcødé"] = "値 🎉",
            ["json"] = "{\"a\":[1,2]}",
            ["spaces in name"] = " padded ",
        };
        var appended = Event(Origin, "m", headers: headers);

        await Store.AppendAsync(appended);
        var only = (await ReadAsync(Store, Origin)).Single();

        Assert.That(only.Headers, Is.EquivalentTo(headers));
    }

    [Test]
    public async Task GetBucketIncrementAsync_BeforeAndAfterCreation_ReturnsNullThenIncrement()
    {
        var before = await Store.GetBucketIncrementAsync();
        await Store.EnsureCreatedAsync(Increment);
        var after = await Store.GetBucketIncrementAsync();

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.Null);
            Assert.That(after, Is.EqualTo(Increment));
        });
    }

    [Test]
    public async Task EnsureCreatedAsync_SameIncrementAgain_KeepsEvents()
    {
        await Store.EnsureCreatedAsync(Increment);
        await Store.AppendAsync(Event(Origin, "kept"));
        var reopened = await OpenSameAsync();

        await reopened.EnsureCreatedAsync(Increment);
        var read = await ReadAsync(reopened, Origin);

        Assert.Multiple(async () =>
        {
            Assert.That(read.Select(e => e.Message), Is.EqualTo(new[] { "kept" }));
            Assert.That(await reopened.GetBucketIncrementAsync(), Is.EqualTo(Increment));
        });
    }

    [Test]
    public async Task EnsureCreatedAsync_OtherIncrement_ThrowsMismatchNamingBoth()
    {
        await Store.EnsureCreatedAsync(Increment);
        var reopened = await OpenSameAsync();

        var ex = Assert.ThrowsAsync<BucketIncrementMismatchException>(async () => await reopened.EnsureCreatedAsync(TimeSpan.FromSeconds(30)));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.StoredIncrement, Is.EqualTo(Increment));
            Assert.That(ex.RequestedIncrement, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(ex.Message, Does.Contain("00:00:15").And.Contain("00:00:30"));
        });
    }

    [Test]
    public async Task ReadRangeAsync_SeveralBuckets_OrdersByBucketThenIdAndExcludesEnd()
    {
        await Store.EnsureCreatedAsync(Increment);
        var events = new List<RecordedEvent>();
        for (var bucket = 0; bucket < 5; bucket++)
        {
            for (var i = 0; i < 3; i++)
            {
                events.Add(Event(Origin + (Increment * bucket) + TimeSpan.FromSeconds(3 - i), $"b{bucket}e{i}"));
            }
        }

        foreach (var e in events.OrderByDescending(e => e.EventId))
        {
            await Store.AppendAsync(e);
        }

        var read = new List<RecordedEvent>();
        await foreach (var e in Store.ReadRangeAsync(Origin + Increment, Origin + (Increment * 4)))
        {
            read.Add(e);
        }

        var expected = events
            .Where(e => e.TimeBucket >= Origin + Increment && e.TimeBucket < Origin + (Increment * 4))
            .OrderBy(e => e.TimeBucket).ThenBy(e => e.EventId)
            .Select(e => e.EventId);
        Assert.That(read.Select(e => e.EventId), Is.EqualTo(expected));
    }

    [Test]
    public async Task ReadRangeAsync_MostlyEmptyRange_ReturnsOnlyStoredEvents()
    {
        await Store.EnsureCreatedAsync(Increment);
        var early = Event(Origin, "early");
        var late = Event(Origin.AddDays(20), "late");
        await Store.AppendAsync(late);
        await Store.AppendAsync(early);

        var read = new List<string>();
        await foreach (var e in Store.ReadRangeAsync(Origin.AddDays(-1), Origin.AddDays(30)))
        {
            read.Add(e.Message);
        }

        Assert.That(read, Is.EqualTo(new[] { "early", "late" }));
    }

    [Test]
    public async Task ReadBucketAsync_Cancelled_StopsWithOperationCanceled()
    {
        await Store.EnsureCreatedAsync(Increment);
        for (var i = 0; i < 10; i++)
        {
            await Store.AppendAsync(Event(Origin.AddTicks(i), $"m{i}"));
        }

        using var cts = new CancellationTokenSource();
        var seen = 0;

        Assert.That(async () =>
        {
            await foreach (var e in Store.ReadBucketAsync(Origin, cts.Token))
            {
                seen++;
                await cts.CancelAsync();
            }
        }, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen, Is.LessThan(10));
    }

    private static async Task<List<RecordedEvent>> ReadAsync(IEventStore store, DateTime bucket)
    {
        var read = new List<RecordedEvent>();
        await foreach (var e in store.ReadBucketAsync(bucket))
        {
            read.Add(e);
        }

        return read;
    }

    private static RecordedEvent Event(DateTime timestamp, string message, string? key = null, string topic = "events", IReadOnlyDictionary<string, string>? headers = null)
    {
        var id = TimeUuid.Create(new DateTimeOffset(timestamp));
        var sinceEpoch = timestamp.Ticks - DateTime.UnixEpoch.Ticks;
        var bucket = new DateTime(timestamp.Ticks - (((sinceEpoch % Increment.Ticks) + Increment.Ticks) % Increment.Ticks), DateTimeKind.Utc);
        return new RecordedEvent(bucket, id, topic, key, message, headers);
    }
}
