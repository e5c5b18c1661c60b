using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

/// <summary>Reads in chunks keyed on the last row: every row once and in order, and no read transaction held between chunks.</summary>
public sealed class SqliteEventStoreReadTests
{
    // SQLite checkpoints the WAL once it passes 1000 pages (about 4 MB) and then writes it again from the start, so
    // without a reader pinning it the WAL stays near 4 MB plus one commit (at most 512 rows of 1 KB, under 1 MB).
    // A reader whose transaction stays open keeps every frame written since it began: at least the 24 MB appended.
    private const long WalBound = 8L << 20;
    private const int LoadEvents = 24_000;

    private TempDatabase _database = null!;

    [SetUp]
    public void SetUp() => _database = new TempDatabase();

    [TearDown]
    public async Task TearDown() => await _database.DisposeAsync();

    [Test]
    public async Task ReadRangeAsync_ReaderHeldMidRangeDuringManyAppends_LeavesTheWalSmallAndReturnsEveryRowOnce()
    {
        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Normal);
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var range = await SeedRangeAsync(store);

        var read = new List<RecordedEvent>();
        await using (var reader = store.ReadRangeAsync(range.From, range.To).GetAsyncEnumerator())
        {
            while (read.Count < 300 && await reader.MoveNextAsync())
            {
                read.Add(reader.Current); // past the first chunk: the reader is mid-range, suspended between rows
            }

            await AppendLoadAsync(store, range.To.AddHours(1));
            var wal = WalBytes();
            TestContext.Out.WriteLine($"WAL after {LoadEvents} appends of 1 KB with a range reader open: {wal / 1048576.0:F1} MB");
            Assert.That(wal, Is.LessThan(WalBound), "the open range read kept SQLite from checkpointing the WAL");

            while (await reader.MoveNextAsync())
            {
                read.Add(reader.Current);
            }
        }

        Assert.That(read.Select(e => e.EventId), Is.EqualTo(range.Ids), "every row of the range once, in (bucket, id) order");
        Assert.That(store.ChunksRead, Is.GreaterThanOrEqualTo(range.Ids.Count / SqliteEventStore.DefaultReadChunkRows));
    }

    [Test]
    public async Task Control_RawReaderWithAStatementOpenDuringManyAppends_PinsTheWalPastTheBound()
    {
        // What the bound above tells apart: a reader that keeps one statement open, as the store's reads did before.
        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Normal);
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var range = await SeedRangeAsync(store);

        using (var connection = _database.OpenRawConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT message FROM events ORDER BY time_bucket, event_id";
            using var reader = command.ExecuteReader();
            Assert.That(reader.Read(), Is.True);

            await AppendLoadAsync(store, range.To.AddHours(1));
            var wal = WalBytes();
            TestContext.Out.WriteLine($"WAL after {LoadEvents} appends of 1 KB with a statement open: {wal / 1048576.0:F1} MB");
            Assert.That(wal, Is.GreaterThan(WalBound));
        }
    }

    [Test]
    public async Task ReadBucketAsync_ChunksSmallerThanTheBucket_ReturnEveryRowOnceInOrder()
    {
        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Off);
        store.ReadChunkRows = 7;
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var ids = new List<TimeUuid>();
        for (var i = 0; i < 50; i++)
        {
            var id = TestEvents.RandomId();
            ids.Add(id);
            ids.Add(TestEvents.WithSameTimestamp(id)); // equal timestamps: a chunk boundary may fall between them
        }

        await Task.WhenAll(ids.Select(id => store.AppendAsync(new RecordedEvent(TestEvents.Bucket, id, "events", null, id.ToString())).AsTask()));
        await store.AppendAsync(TestEvents.Create("neighbour before", TestEvents.Bucket - TestEvents.Increment));
        await store.AppendAsync(TestEvents.Create("neighbour after", TestEvents.Bucket + TestEvents.Increment));
        var chunksBefore = store.ChunksRead;

        var read = await store.ReadBucketAsync(TestEvents.Bucket).ToListAsync();

        Assert.That(read.Select(e => e.EventId), Is.EqualTo(ids.Order()));
        Assert.That(store.ChunksRead - chunksBefore, Is.EqualTo(15), "100 rows in chunks of 7: 14 full chunks and one of 2");
    }

    [TestCase(7)] // a chunk ends exactly where the second bucket ends
    [TestCase(5)]
    [TestCase(1)]
    public async Task ReadRangeAsync_ChunkBoundariesInsideAndBetweenBuckets_ReturnEveryRowOnceInOrder(int chunkRows)
    {
        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Off);
        store.ReadChunkRows = chunkRows;
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var appended = new List<RecordedEvent>();
        foreach (var (bucket, count) in new[] { (0, 3), (1, 4), (2, 9), (4, 1) })
        {
            for (var i = 0; i < count; i++)
            {
                appended.Add(TestEvents.Create($"b{bucket} e{i}", TestEvents.Bucket + (TestEvents.Increment * bucket)));
            }
        }

        foreach (var e in appended.AsEnumerable().Reverse())
        {
            await store.AppendAsync(e);
        }

        var read = await store.ReadRangeAsync(TestEvents.Bucket, TestEvents.Bucket + (TestEvents.Increment * 5)).ToListAsync();
        var tail = await store.ReadRangeAsync(TestEvents.Bucket + TestEvents.Increment, TestEvents.Bucket + (TestEvents.Increment * 2)).ToListAsync();

        Assert.That(read, Is.EqualTo(appended.OrderBy(e => e.TimeBucket).ThenBy(e => e.EventId)));
        Assert.That(tail.Select(e => e.Message), Is.EqualTo(new[] { "b1 e0", "b1 e1", "b1 e2", "b1 e3" }));
    }

    [Test]
    public async Task ReadBucketAsync_MessagesOfOneMebibyte_ComeAFewPerChunk()
    {
        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Off);
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var appended = Enumerable.Range(0, 5).Select(i => TestEvents.Create(new string((char)('a' + i), 1 << 20))).ToList();
        foreach (var e in appended)
        {
            await store.AppendAsync(e);
        }

        var chunksBefore = store.ChunksRead;
        var read = await store.ReadBucketAsync(TestEvents.Bucket).ToListAsync();

        Assert.That(read, Is.EqualTo(appended.OrderBy(e => e.EventId)));
        Assert.That(store.ChunksRead - chunksBefore, Is.GreaterThanOrEqualTo(5), "a chunk stops at about 1 Mi characters of messages, not at 256 rows");
    }

    [Test]
    public async Task ReadBucketAsync_EventsAppendedWhileReading_AppearOnlyAfterTheLastRowReturned()
    {
        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Off);
        store.ReadChunkRows = 5;
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var start = DateTimeOffset.FromUnixTimeMilliseconds(new DateTimeOffset(TestEvents.Bucket).ToUnixTimeMilliseconds());
        var first = Enumerable.Range(1, 10).Select(i => new RecordedEvent(TestEvents.Bucket, TimeUuid.Create(start.AddMilliseconds(i * 100)), "events", null, $"m{i}")).ToList();
        foreach (var e in first)
        {
            await store.AppendAsync(e);
        }

        var read = new List<string>();
        await using (var reader = store.ReadBucketAsync(TestEvents.Bucket).GetAsyncEnumerator())
        {
            for (var i = 0; i < 5 && await reader.MoveNextAsync(); i++)
            {
                read.Add(reader.Current.Message);
            }

            await store.AppendAsync(new RecordedEvent(TestEvents.Bucket, TimeUuid.Create(start.AddMilliseconds(50)), "events", null, "behind the reader"));
            await store.AppendAsync(new RecordedEvent(TestEvents.Bucket, TimeUuid.Create(start.AddSeconds(5)), "events", null, "ahead of the reader"));
            while (await reader.MoveNextAsync())
            {
                read.Add(reader.Current.Message);
            }
        }

        Assert.That(read, Is.EqualTo(first.Select(e => e.Message).Append("ahead of the reader")));
    }

    [Test]
    public async Task ReadBucketAsync_ManyReadsAbandonedAfterOneRow_ReuseTheirSessionsAndLeakNoHandles()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("Counts /proc/self/fd.");
        }

        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Off);
        store.ReadChunkRows = 2;
        await store.EnsureCreatedAsync(TestEvents.Increment);
        await Task.WhenAll(Enumerable.Range(0, 5).Select(i => store.AppendAsync(TestEvents.Create($"m{i}")).AsTask()));
        await FirstAsync(store);
        var baseline = ChildProcess.OpenFileDescriptors();

        for (var i = 0; i < 200; i++)
        {
            Assert.That(await FirstAsync(store), Does.StartWith("m"));
        }

        Assert.That(ChildProcess.OpenFileDescriptors(), Is.LessThanOrEqualTo(baseline + 2));
        Assert.That(await store.ReadBucketAsync(TestEvents.Bucket).ToListAsync(), Has.Count.EqualTo(5), "a session left mid-range reads from the start next time");

        static async Task<string> FirstAsync(SqliteEventStore store)
        {
            await foreach (var e in store.ReadBucketAsync(TestEvents.Bucket))
            {
                return e.Message;
            }

            return "none";
        }
    }

    [Test]
    public async Task ReadBucketAsync_StoreDisposedBetweenChunks_ThrowsObjectDisposedException()
    {
        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Off);
        store.ReadChunkRows = 2;
        await store.EnsureCreatedAsync(TestEvents.Increment);
        await Task.WhenAll(Enumerable.Range(0, 5).Select(i => store.AppendAsync(TestEvents.Create($"m{i}")).AsTask()));

        var read = 0;
        Assert.That(
            async () =>
            {
                await foreach (var _ in store.ReadBucketAsync(TestEvents.Bucket))
                {
                    if (++read == 1)
                    {
                        await store.DisposeAsync();
                    }
                }
            },
            Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(read, Is.EqualTo(2), "the chunk already read is handed out; the next one is refused");
    }

    /// <summary>1 200 events over two buckets (several chunks), read back as a range.</summary>
    private static async Task<(DateTime From, DateTime To, List<TimeUuid> Ids)> SeedRangeAsync(SqliteEventStore store)
    {
        var events = Enumerable.Range(0, 1_200).Select(i => TestEvents.Create($"seed {i}", TestEvents.Bucket + (TestEvents.Increment * (i % 2)))).ToList();
        await Task.WhenAll(events.Select(e => store.AppendAsync(e).AsTask()));
        var ids = events.OrderBy(e => e.TimeBucket).ThenBy(e => e.EventId).Select(e => e.EventId).ToList();
        return (TestEvents.Bucket, TestEvents.Bucket + (TestEvents.Increment * 2), ids);
    }

    /// <summary><see cref="LoadEvents"/> appends of 1 KB into a bucket outside the range, 64 at a time.</summary>
    private static async Task AppendLoadAsync(SqliteEventStore store, DateTime bucket)
    {
        var message = new string('x', 1024);
        for (var done = 0; done < LoadEvents; done += 64)
        {
            await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => store.AppendAsync(TestEvents.Create(message, bucket)).AsTask()));
        }
    }

    private long WalBytes() => new FileInfo(_database.FilePath + "-wal").Length;
}
