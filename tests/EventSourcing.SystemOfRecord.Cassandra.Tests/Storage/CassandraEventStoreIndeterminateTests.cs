using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Storage;

/// <summary>
/// An append that fails after its INSERT may have reached replicas (a write timeout after retries, a client timeout, a
/// connection lost after the request went out) is indeterminate: IndeterminateAppendException carries the event, and
/// the event is in the store if and only if a replica applied it.
/// </summary>
public sealed class CassandraEventStoreIndeterminateTests
{
    private const string InsertEvent = "INSERT INTO sor.events (time_bucket";
    private static readonly TimeSpan Increment = TimeSpan.FromSeconds(15);
    private static readonly DateTime Origin = new(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    private CqlServerMock _server = default!;

    [SetUp]
    public async Task StartServerAsync()
    {
        _server = new CqlServerMock();
        await _server.StartAsync();
    }

    [TearDown]
    public async Task StopServerAsync() => await _server.DisposeAsync();

    private async Task<CassandraEventStore> StoreAsync(Action<CassandraStoreOptions>? configure = null)
    {
        var options = new CassandraStoreOptions { ContactPoints = [_server.ContactPoint], Keyspace = "sor", RetryDelay = TimeSpan.FromMilliseconds(5) };
        configure?.Invoke(options);
        var store = new CassandraEventStore(Options.Create(options));
        await store.EnsureCreatedAsync(Increment);
        return store;
    }

    private static RecordedEvent Event(string message) =>
        new(Origin, TimeUuid.Create(new DateTimeOffset(Origin.AddSeconds(1))), "events", "k", message);

    private async Task<List<RecordedEvent>> StoredAsync()
    {
        await using var reader = await StoreAsync();
        var list = new List<RecordedEvent>();
        await foreach (var e in reader.ReadBucketAsync(Origin))
        {
            list.Add(e);
        }

        return list;
    }

    [Test]
    public async Task AppendAsync_WriteTimeoutOnEveryAttemptNotApplied_IndeterminateAndAbsent()
    {
        await using var store = await StoreAsync();
        var appended = Event("not applied");
        _server.FailNext(0x1100, 5, InsertEvent);

        var ex = Assert.ThrowsAsync<IndeterminateAppendException>(async () => await store.AppendAsync(appended));

        Assert.Multiple(async () =>
        {
            Assert.That(ex!.Event, Is.EqualTo(appended));
            Assert.That(ex.InnerException, Is.InstanceOf<CassandraWriteTimeoutException>());
            Assert.That(ex.IsTransient, Is.False, "appending again makes a new event; the pipeline checks the store instead");
            Assert.That(await StoredAsync(), Is.Empty, "no replica applied it");
        });
    }

    [Test]
    public async Task AppendAsync_WriteTimeoutOnEveryAttemptAfterReplicasApplied_IndeterminateAndPresent()
    {
        await using var store = await StoreAsync();
        var appended = Event("applied");
        _server.FailNext(0x1100, 5, InsertEvent, applyFirst: true);

        var ex = Assert.ThrowsAsync<IndeterminateAppendException>(async () => await store.AppendAsync(appended));

        Assert.Multiple(async () =>
        {
            Assert.That(ex!.Event, Is.EqualTo(appended));
            Assert.That(await StoredAsync(), Is.EqualTo(new[] { appended }), "the write was applied once, despite the timeouts");
        });
    }

    [Test]
    public async Task AppendAsync_WriteTimeoutThenUnavailable_StillIndeterminate()
    {
        await using var store = await StoreAsync();
        _server.FailNext(0x1100, 1, InsertEvent, applyFirst: true);
        _server.FailNext(0x1000, 4, InsertEvent);

        var ex = Assert.ThrowsAsync<IndeterminateAppendException>(async () => await store.AppendAsync(Event("first attempt applied")));

        Assert.Multiple(async () =>
        {
            Assert.That(ex!.InnerException, Is.InstanceOf<CassandraUnavailableException>(), "the last error, after the first attempt may have been applied");
            Assert.That(await StoredAsync(), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task AppendAsync_WriteTimeoutThenSuccess_Appended()
    {
        await using var store = await StoreAsync();
        var appended = Event("retried");
        _server.FailNext(0x1100, 2, InsertEvent, applyFirst: true);

        await store.AppendAsync(appended);

        Assert.That(await StoredAsync(), Is.EqualTo(new[] { appended }));
    }

    [Test]
    public async Task AppendAsync_UnavailableOnEveryAttempt_PlainFailureAndNothingWritten()
    {
        await using var store = await StoreAsync();
        _server.FailNext(0x1000, 5, InsertEvent);

        Assert.That(async () => await store.AppendAsync(Event("never tried")), Throws.InstanceOf<CassandraUnavailableException>());
        Assert.That(await StoredAsync(), Is.Empty);
    }

    [Test]
    [Category("Slow")] // the late answer comes after 4 s
    public async Task AppendAsync_NoAnswerWithinTheRequestTimeout_IndeterminateAndAppliedLater()
    {
        // The timeout also bounds the schema creation and the warm-up, which have no retry: long enough for a loaded
        // machine (300 ms was not), and the answer to the late append comes well after it.
        var timeout = TimeSpan.FromSeconds(2);
        await using var store = await StoreAsync(o =>
        {
            o.RequestTimeout = timeout;
            o.MaxRetries = 0;
        });
        await store.AppendAsync(Event("warm-up: the bucket is indexed and the INSERT prepared"));
        var appended = Event("late");
        _server.ResponseDelay = timeout * 2;

        var ex = Assert.ThrowsAsync<IndeterminateAppendException>(async () => await store.AppendAsync(appended));
        Assert.That(ex!.InnerException, Is.InstanceOf<CassandraConnectionException>().With.Message.Contains("did not answer"));

        _server.ResponseDelay = TimeSpan.Zero;
        await Eventually.UntilAsync(() => _server.Database.CountRows("sor", "events") == 2, "the node applied the write after the client gave up");
        Assert.That(await StoredAsync(), Has.Member(appended));
    }

    [Test]
    public async Task AppendAsync_ConnectionLostAfterTheInsertWasSent_IndeterminateAndAbsent()
    {
        await using var store = await StoreAsync(o => o.MaxRetries = 0);
        await store.AppendAsync(Event("warm-up: the bucket is indexed and the INSERT prepared"));
        var appended = Event("lost");
        _server.DropConnectionAfterRequests(1);

        var ex = Assert.ThrowsAsync<IndeterminateAppendException>(async () => await store.AppendAsync(appended));

        Assert.Multiple(async () =>
        {
            Assert.That(ex!.InnerException, Is.InstanceOf<CassandraConnectionException>());
            Assert.That((await StoredAsync()).Select(e => e.Message), Has.None.EqualTo("lost"), "the node closed the connection instead of running it");
        });
    }
}
