using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

public sealed class SqliteSystemOfRecordBuilderExtensionsTests
{
    private TempDatabase _database = null!;

    [SetUp]
    public void SetUp() => _database = new TempDatabase();

    [TearDown]
    public async Task TearDown() => await _database.DisposeAsync();

    [Test]
    public async Task UseSqlite_ConnectionString_ResolvesOneSqliteEventStoreAsIEventStore()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord().UseSqlite(_database.ConnectionString);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        var store = provider.GetRequiredService<IEventStore>();

        Assert.That(store, Is.InstanceOf<SqliteEventStore>().And.InstanceOf<ICheckpointStore>());
        Assert.That(provider.GetRequiredService<SqliteEventStore>(), Is.SameAs(store));
        Assert.That(provider.GetRequiredService<SystemOfRecord>().Store, Is.SameAs(store));
        Assert.That(((SqliteEventStore)store).DataSource, Is.EqualTo(_database.FilePath));
    }

    [Test]
    public async Task UseSqlite_SystemOfRecord_AppendsDurablyAndRepublishesThroughTheFile()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord(o => o.BucketIncrement = TimeSpan.FromSeconds(5))
            .UseSqlite(o =>
            {
                o.ConnectionString = _database.ConnectionString;
                o.MaxBatchSize = 64;
            });
        var received = new System.Collections.Concurrent.ConcurrentBag<RecordedEvent>();
        var start = DateTime.UtcNow;
        List<RecordedEvent> appended;
        await using (var provider = services.BuildServiceProvider())
        {
            using var subscription = provider.GetRequiredService<InMemoryEventPublisher>().Subscribe((e, _) =>
            {
                received.Add(e);
                return ValueTask.CompletedTask;
            });
            var sor = provider.GetRequiredService<SystemOfRecord>();

            appended = [.. await Task.WhenAll(Enumerable.Range(0, 20).Select(i => sor.AppendAsync($"{{\"n\":{i}}}", key: $"k{i % 3}").AsTask()))];
            var republished = await sor.RepublishDateRangeAsync(start, DateTime.UtcNow.AddSeconds(5));

            Assert.That(republished, Is.EqualTo(20));
            Assert.That(received, Has.Count.EqualTo(40));
        }

        // The container disposed the store; a new one on the same file sees everything.
        await using var reopened = _database.CreateStore();
        Assert.That(await reopened.GetBucketIncrementAsync(), Is.EqualTo(TimeSpan.FromSeconds(5)));
        var stored = new List<RecordedEvent>();
        await foreach (var e in reopened.ReadRangeAsync(appended.Min(e => e.TimeBucket), appended.Max(e => e.TimeBucket).AddSeconds(5)))
        {
            stored.Add(e);
        }

        Assert.That(stored, Is.EquivalentTo(appended));
    }

    [Test]
    public async Task UseSqlite_BlockingAppendFromManyPoolThreads_RecordsEveryEvent()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord().UseSqlite(_database.ConnectionString);
        await using var provider = services.BuildServiceProvider();
        var sor = provider.GetRequiredService<SystemOfRecord>();
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        // The seed's blocking Append, from more pool threads than the machine has cores. The store's writer has a
        // thread of its own, so commits go on while callers hold the pool; only their continuations wait for threads.
        var ids = new System.Collections.Concurrent.ConcurrentBag<TimeUuid>();
        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => ids.Add(sor.Append($"blocking {i}").EventId));
        TestContext.Out.WriteLine($"200 blocking appends from 8 pool threads took {stopwatch.ElapsedMilliseconds} ms");

        await using var reopened = _database.CreateStore();
        var buckets = ids.Select(id => sor.GetBucket(id.GetTimestamp())).Distinct().Order().ToList();
        var stored = 0;
        await foreach (var _ in reopened.ReadRangeAsync(buckets[0], buckets[^1].Add(sor.BucketIncrement)))
        {
            stored++;
        }

        Assert.That(stored, Is.EqualTo(200));
    }

    [Test]
    public void UseSqlite_InvalidOptions_FailAtStartWithEveryBadSetting()
    {
        var services = new ServiceCollection();
        services.AddSystemOfRecord().UseSqlite(o =>
        {
            o.ConnectionString = "Data Source=:memory:";
            o.MaxBatchSize = -1;
        });
        using var provider = services.BuildServiceProvider();

        Assert.That(
            () => provider.GetRequiredService<IStartupValidator>().Validate(),
            Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("ConnectionString").And.Message.Contains("MaxBatchSize"));
        Assert.That(() => provider.GetRequiredService<IEventStore>(), Throws.InstanceOf<OptionsValidationException>());
    }

    [Test]
    public void UseSqlite_EmptyConnectionString_ThrowsArgumentException()
    {
        var builder = new ServiceCollection().AddSystemOfRecord();

        Assert.That(() => builder.UseSqlite(" "), Throws.ArgumentException);
        Assert.That(() => builder.UseSqlite((string)null!), Throws.ArgumentNullException);
        Assert.That(() => builder.UseSqlite((Action<SqliteStoreOptions>)null!), Throws.ArgumentNullException);
    }

    [Test]
    public async Task UseSqlite_CalledTwice_LastConnectionStringWinsAndOneStoreIsRegistered()
    {
        await using var other = new TempDatabase();
        var services = new ServiceCollection();
        services.AddSystemOfRecord().UseSqlite(other.ConnectionString).UseSqlite(_database.ConnectionString);
        await using var provider = services.BuildServiceProvider();

        var store = (SqliteEventStore)provider.GetRequiredService<IEventStore>();

        Assert.That(store.DataSource, Is.EqualTo(_database.FilePath));
        Assert.That(services.Count(d => d.ServiceType == typeof(SqliteEventStore)), Is.EqualTo(1));
    }
}
