using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

public sealed class SqliteEventStoreTests
{
    private TempDatabase _database = null!;

    [SetUp]
    public void SetUp() => _database = new TempDatabase();

    [TearDown]
    public async Task TearDown() => await _database.DisposeAsync();

    [Test]
    public async Task AppendAsync_NullEvent_ThrowsArgumentNullException()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);

        Assert.That(async () => await store.AppendAsync(null!), Throws.ArgumentNullException);
        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.Zero);
    }

    [Test]
    public async Task AppendAsync_ThenNewStoreOnSameFile_SeesEveryEventAndTheIncrement()
    {
        var first = _database.CreateStore();
        await first.EnsureCreatedAsync(TestEvents.Increment);
        var appended = new List<RecordedEvent>
        {
            TestEvents.Create("{\"order\":1}", key: "order-1", headers: new Dictionary<string, string> { ["trace"] = "abc", ["ünï"] = "\"quoted\"\n" }),
            TestEvents.Create(string.Empty, topic: "other"),
            TestEvents.Create("日本語 🎉", key: string.Empty),
        };
        foreach (var e in appended)
        {
            await first.AppendAsync(e);
        }

        await first.DisposeAsync();

        var second = _database.CreateStore();
        Assert.That(await second.GetBucketIncrementAsync(), Is.EqualTo(TestEvents.Increment));
        var read = await second.ReadBucketAsync(TestEvents.Bucket).ToListAsync();
        Assert.That(read, Is.EqualTo(appended));
        Assert.That(read.Select(e => e.Timestamp), Is.EqualTo(appended.Select(e => e.Timestamp)));
    }

    [Test]
    public async Task AppendAsync_TwoStoresOnOneFileConcurrently_LoseNothing()
    {
        const int appendersPerStore = 8;
        const int eventsPerAppender = 50;
        var stores = new[] { _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Normal), _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Normal) };
        await Task.WhenAll(stores.Select(s => s.EnsureCreatedAsync(TestEvents.Increment).AsTask()));

        var appended = new System.Collections.Concurrent.ConcurrentBag<TimeUuid>();
        await Task.WhenAll(stores.SelectMany(store => Enumerable.Range(0, appendersPerStore).Select(appender => Task.Run(async () =>
        {
            for (var i = 0; i < eventsPerAppender; i++)
            {
                var e = TestEvents.Create($"{appender}-{i}");
                await store.AppendAsync(e);
                appended.Add(e.EventId);
            }
        }))));

        await using var reader = _database.CreateStore();
        var read = await reader.ReadBucketAsync(TestEvents.Bucket).ToListAsync();
        Assert.That(read.Select(e => e.EventId), Is.EqualTo(appended.Order()));
        Assert.That(read, Has.Count.EqualTo(2 * appendersPerStore * eventsPerAppender));
    }

    [Test]
    [Category("Slow")] // starts a second process
    public async Task AppendAsync_AnotherProcessAppendsToTheSameFileAtOnce_LosesNothing()
    {
        const int childEvents = 1_500;
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);

        using var child = ChildProcess.StartAppending(_database.FilePath, childEvents, appenders: 8);
        var output = child.StandardOutput.ReadToEndAsync();
        var errors = child.StandardError.ReadToEndAsync();

        // Append from this process until the other one is done, so the two overlap whatever the machine's speed.
        var appended = new List<TimeUuid>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!child.HasExited && DateTime.UtcNow < deadline && appended.Count < 20_000)
        {
            var batch = Enumerable.Range(0, 8).Select(i => TestEvents.Create($"parent-{appended.Count + i}")).ToList();
            await Task.WhenAll(batch.Select(e => store.AppendAsync(e).AsTask()));
            appended.AddRange(batch.Select(e => e.EventId));
        }

        await child.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        TestContext.Out.WriteLine($"This process appended {appended.Count} events while the other appended {childEvents}.");
        Assert.That(child.ExitCode, Is.Zero, await errors);
        Assert.That(await output, Does.Contain($"appended {childEvents}"));

        var read = await store.ReadBucketAsync(TestEvents.Bucket).ToListAsync();
        Assert.That(read.Count(e => e.Message.StartsWith("child-", StringComparison.Ordinal)), Is.EqualTo(childEvents));
        Assert.That(read.Where(e => e.Message.StartsWith("parent-", StringComparison.Ordinal)).Select(e => e.EventId), Is.EqualTo(appended.Order()));
        Assert.That(appended, Is.Not.Empty);
    }

    [Test]
    public async Task AppendAsync_ManyQueuedWhileWriterWaits_ShareOneTransaction()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var tasks = new List<Task>();
        using (var writeLock = new WriteLock(_database))
        {
            tasks.Add(store.AppendAsync(TestEvents.Create("first")).AsTask());
            await Eventually.UntilAsync(() => store.BatchesStarted == 1, "the writer took the first append");
            for (var i = 0; i < 50; i++)
            {
                tasks.Add(store.AppendAsync(TestEvents.Create($"queued {i}")).AsTask());
            }

            await Eventually.UntilAsync(() => store.QueuedAppends == 50, "50 appends are queued");
            Assert.That(tasks.Any(t => t.IsCompleted), Is.False, "nothing completes while another connection holds the write lock");
        }

        await Task.WhenAll(tasks);
        Assert.That(store.TransactionsCommitted, Is.EqualTo(2));
        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.EqualTo(51));
    }

    [Test]
    public async Task AppendAsync_MoreQueuedThanMaxBatchSize_SplitsIntoBatchesOfAtMostThatSize()
    {
        var store = _database.CreateStore(o => o.MaxBatchSize = 10);
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var tasks = new List<Task>();
        using (new WriteLock(_database))
        {
            tasks.Add(store.AppendAsync(TestEvents.Create("first")).AsTask());
            await Eventually.UntilAsync(() => store.BatchesStarted == 1, "the writer took the first append");
            for (var i = 0; i < 25; i++)
            {
                tasks.Add(store.AppendAsync(TestEvents.Create($"queued {i}")).AsTask());
            }

            await Eventually.UntilAsync(() => store.QueuedAppends == 25, "25 appends are queued");
        }

        await Task.WhenAll(tasks);
        Assert.That(store.TransactionsCommitted, Is.EqualTo(1 + 3)); // 1, then 10 + 10 + 5
        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.EqualTo(26));
    }

    [Test]
    public async Task AppendAsync_OneFailingEventInABatch_RollsTheBatchBackAndEveryCallerLearnsItsOwnOutcome()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);

        // A real SQLite failure for one message, and an audit of every insert that was committed:
        // a batch that left a partial write behind would show up as an extra audit row.
        using (var connection = _database.OpenRawConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                CREATE TABLE audit (message TEXT NOT NULL);
                CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.message = 'poison' BEGIN SELECT RAISE(ABORT, 'poison refused'); END;
                CREATE TRIGGER audit AFTER INSERT ON events BEGIN INSERT INTO audit (message) VALUES (NEW.message); END;
                """;
            command.ExecuteNonQuery();
        }

        Task first, good1, poison, good2;
        using (new WriteLock(_database))
        {
            first = store.AppendAsync(TestEvents.Create("first")).AsTask();
            await Eventually.UntilAsync(() => store.BatchesStarted == 1, "the writer took the first append");
            good1 = store.AppendAsync(TestEvents.Create("good 1")).AsTask();
            poison = store.AppendAsync(TestEvents.Create("poison")).AsTask();
            good2 = store.AppendAsync(TestEvents.Create("good 2")).AsTask();
            await Eventually.UntilAsync(() => store.QueuedAppends == 3, "three appends are queued");
        }

        Assert.That(async () => await poison, Throws.TypeOf<SqliteException>().With.Message.Contains("poison refused"));
        await Task.WhenAll(first, good1, good2);
        Assert.That(store.BatchesStarted, Is.EqualTo(2), "the three shared one batch");

        var messages = (await store.ReadBucketAsync(TestEvents.Bucket).ToListAsync()).Select(e => e.Message);
        Assert.That(messages, Is.EquivalentTo(new[] { "first", "good 1", "good 2" }));
        Assert.That(_database.Scalar("SELECT count(*) FROM audit"), Is.EqualTo(3), "each good event was committed once: the failed batch left nothing");
    }

    [Test]
    public async Task AppendAsync_LockHeldPastBusyTimeout_FailsEveryCallerAndWritesNothing()
    {
        var store = _database.CreateStore(o => o.BusyTimeout = TimeSpan.FromMilliseconds(100));
        await store.EnsureCreatedAsync(TestEvents.Increment);

        using (new WriteLock(_database))
        {
            var appends = Enumerable.Range(0, 3).Select(i => store.AppendAsync(TestEvents.Create($"locked out {i}")).AsTask()).ToList();
            foreach (var append in appends)
            {
                var ex = Assert.ThrowsAsync<SqliteException>(async () => await append);
                Assert.That(ex!.SqliteErrorCode, Is.EqualTo(5).Or.EqualTo(6), "SQLITE_BUSY or SQLITE_LOCKED");
            }
        }

        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.Zero);
        await store.AppendAsync(TestEvents.Create("after the lock"));
        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.EqualTo(1));
    }

    [Test]
    public async Task AppendAsync_CancelledWhileQueued_ThrowsAndIsNeverWritten()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);
        using var cancellation = new CancellationTokenSource();
        Task first, cancelled, kept;
        using (new WriteLock(_database))
        {
            first = store.AppendAsync(TestEvents.Create("first")).AsTask();
            await Eventually.UntilAsync(() => store.BatchesStarted == 1, "the writer took the first append");
            cancelled = store.AppendAsync(TestEvents.Create("cancelled"), cancellation.Token).AsTask();
            kept = store.AppendAsync(TestEvents.Create("kept"), CancellationToken.None).AsTask();
            await cancellation.CancelAsync();
            Assert.That(async () => await cancelled, Throws.InstanceOf<OperationCanceledException>());
        }

        await Task.WhenAll(first, kept);
        var messages = (await store.ReadBucketAsync(TestEvents.Bucket).ToListAsync()).Select(e => e.Message);
        Assert.That(messages, Is.EquivalentTo(new[] { "first", "kept" }));
    }

    [Test]
    public async Task AppendAsync_TokenAlreadyCancelled_ThrowsAndWritesNothing()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);

        Assert.That(async () => await store.AppendAsync(TestEvents.Create("never"), new CancellationToken(canceled: true)), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.Zero);
    }

    [Test]
    public async Task DisposeAsync_WithQueuedAppends_WritesThemBeforeClosing()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var appends = new List<Task>();
        Task disposal;
        using (new WriteLock(_database))
        {
            appends.Add(store.AppendAsync(TestEvents.Create("first")).AsTask());
            await Eventually.UntilAsync(() => store.BatchesStarted == 1, "the writer took the first append");
            appends.AddRange(Enumerable.Range(0, 5).Select(i => store.AppendAsync(TestEvents.Create($"queued {i}")).AsTask()));
            disposal = store.DisposeAsync().AsTask();
            Assert.That(async () => await store.AppendAsync(TestEvents.Create("too late")), Throws.InstanceOf<ObjectDisposedException>());
        }

        await disposal;
        await Task.WhenAll(appends);
        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.EqualTo(6));
    }

    [Test]
    public async Task AppendAsync_AfterDispose_ThrowsObjectDisposedException()
    {
        var store = _database.CreateStore();
        store.Dispose();

        Assert.That(async () => await store.AppendAsync(TestEvents.Create("late")), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => store.ReadBucketAsync(TestEvents.Bucket), Throws.InstanceOf<ObjectDisposedException>());
        await store.DisposeAsync(); // a second disposal is harmless
    }

    [Test]
    public async Task ReadBucketAsync_RandomIds_OrdersExactlyAsTimeUuidCompareTo()
    {
        var store = _database.CreateStore(o => o.Synchronous = SqliteSynchronousMode.Off);
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var ids = new List<TimeUuid>();
        for (var i = 0; i < 500; i++)
        {
            var id = TestEvents.RandomId();
            ids.Add(id);
            ids.Add(TestEvents.WithSameTimestamp(id)); // equal timestamps: the signed low bytes decide
        }

        await Task.WhenAll(ids.Select(id => store.AppendAsync(new RecordedEvent(TestEvents.Bucket, id, "events", null, id.ToString())).AsTask()));

        var read = (await store.ReadBucketAsync(TestEvents.Bucket).ToListAsync()).Select(e => e.EventId).ToList();
        ids.Sort();
        Assert.That(read, Is.EqualTo(ids));
    }

    [Test]
    public async Task ReadRangeAsync_SeveralBuckets_StreamsByBucketThenIdWithEndExclusive()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var buckets = Enumerable.Range(-1, 5).Select(i => TestEvents.Bucket.AddTicks(TestEvents.Increment.Ticks * i)).ToArray();
        var appended = new List<RecordedEvent>();
        foreach (var bucket in buckets.Reverse())
        {
            for (var i = 0; i < 3; i++)
            {
                var e = TestEvents.Create($"{bucket:O} {i}", bucket);
                appended.Add(e);
                await store.AppendAsync(e);
            }
        }

        var read = await store.ReadRangeAsync(buckets[1], buckets[4]).ToListAsync();

        var expected = appended.Where(e => e.TimeBucket >= buckets[1] && e.TimeBucket < buckets[4]).OrderBy(e => e.TimeBucket).ThenBy(e => e.EventId);
        Assert.That(read, Is.EqualTo(expected));
        Assert.That(await store.ReadRangeAsync(buckets[4], buckets[1]).ToListAsync(), Is.Empty);
    }

    [Test]
    public async Task ReadBucketAsync_CancelledWhileStreaming_ThrowsOperationCanceled()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => store.AppendAsync(TestEvents.Create($"{i}")).AsTask()));
        using var cancellation = new CancellationTokenSource();
        var seen = 0;

        Assert.That(
            async () =>
            {
                await foreach (var _ in store.ReadBucketAsync(TestEvents.Bucket, cancellation.Token))
                {
                    if (++seen == 5)
                    {
                        await cancellation.CancelAsync();
                    }
                }
            },
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen, Is.EqualTo(5));
    }

    [Test]
    public void ReadBucketAsync_UnspecifiedKind_ThrowsArgumentException()
    {
        var store = _database.CreateStore();

        Assert.That(() => store.ReadBucketAsync(new DateTime(2026, 1, 1)), Throws.ArgumentException.With.Message.Contains("UTC"));
        Assert.That(() => store.ReadRangeAsync(TestEvents.Bucket, new DateTime(2026, 1, 1)), Throws.ArgumentException);
    }

    [Test]
    public async Task EnsureCreatedAsync_OtherIncrement_ThrowsMismatchAndKeepsTheStoredOne()
    {
        var first = _database.CreateStore();
        await first.EnsureCreatedAsync(TestEvents.Increment);
        var second = _database.CreateStore();

        var ex = Assert.ThrowsAsync<BucketIncrementMismatchException>(async () => await second.EnsureCreatedAsync(TimeSpan.FromSeconds(10)));
        Assert.That(ex!.StoredIncrement, Is.EqualTo(TestEvents.Increment));
        Assert.That(ex.RequestedIncrement, Is.EqualTo(TimeSpan.FromSeconds(10)));
        Assert.That(await second.GetBucketIncrementAsync(), Is.EqualTo(TestEvents.Increment));
    }

    [Test]
    public async Task EnsureCreatedAsync_ManyStoresRacingOnAFreshFile_AllSucceedWithOneSchema()
    {
        var stores = Enumerable.Range(0, 8).Select(_ => _database.CreateStore()).ToList();

        await Task.WhenAll(stores.Select(s => Task.Run(async () => await s.EnsureCreatedAsync(TestEvents.Increment))));

        Assert.That(_database.Scalar("SELECT count(*) FROM metadata WHERE name = 'bucket_increment'"), Is.EqualTo(1));
        Assert.That(_database.Scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'"), Is.EqualTo(1));
    }

    [Test]
    public async Task EnsureCreatedAsync_FreshFile_CreatesWalSchemaWithVersion()
    {
        var store = _database.CreateStore();

        await store.EnsureCreatedAsync(TestEvents.Increment);

        using var connection = _database.OpenRawConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.That(command.ExecuteScalar(), Is.EqualTo("wal"));
        command.CommandText = "SELECT value FROM metadata WHERE name = 'schema_version';";
        Assert.That(command.ExecuteScalar(), Is.EqualTo("1"));
        command.CommandText = "SELECT group_concat(name, ',') FROM pragma_table_info('events');";
        Assert.That(command.ExecuteScalar(), Is.EqualTo("time_bucket,event_id,ts,message,topic,key,headers"));
        command.CommandText = "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name);";
        Assert.That(command.ExecuteScalar(), Is.EqualTo("checkpoints,events,metadata"));
    }

    [Test]
    public async Task GetBucketIncrementAsync_FreshFile_ReturnsNull()
    {
        var store = _database.CreateStore();

        Assert.That(await store.GetBucketIncrementAsync(), Is.Null);
    }

    [Test]
    public async Task AppendAsync_StoresTimesAsUnixTicksAndHeadersAsJson()
    {
        var store = _database.CreateStore();
        await store.EnsureCreatedAsync(TestEvents.Increment);
        var e = TestEvents.Create("m", headers: new Dictionary<string, string> { ["a"] = "1" });

        await store.AppendAsync(e);

        Assert.That(_database.Scalar("SELECT time_bucket FROM events"), Is.EqualTo((TestEvents.Bucket - DateTime.UnixEpoch).Ticks));
        Assert.That(_database.Scalar("SELECT ts FROM events"), Is.EqualTo((e.Timestamp - DateTime.UnixEpoch).Ticks));
        Assert.That(_database.Scalar("SELECT count(*) FROM events WHERE headers = '{\"a\":\"1\"}' AND key IS NULL"), Is.EqualTo(1));
    }

    [TestCase(SqliteSynchronousMode.Off, 0)]
    [TestCase(SqliteSynchronousMode.Normal, 1)]
    [TestCase(SqliteSynchronousMode.Full, 2)]
    [TestCase(SqliteSynchronousMode.Extra, 3)]
    public async Task OpenConnectionAsync_Options_SetSynchronousAndBusyTimeoutOnEveryConnection(SqliteSynchronousMode mode, long pragmaValue)
    {
        var store = _database.CreateStore(o =>
        {
            o.Synchronous = mode;
            o.BusyTimeout = TimeSpan.FromMilliseconds(1234);
        });

        await using var connection = await store.OpenConnectionAsync(CancellationToken.None);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous;";
        var synchronous = command.ExecuteScalar();
        command.CommandText = "PRAGMA busy_timeout;";
        var busyTimeout = command.ExecuteScalar();

        Assert.That(synchronous, Is.EqualTo(pragmaValue));
        Assert.That(busyTimeout, Is.EqualTo(1234L));
    }

    [Test]
    public async Task ReadCheckpointAsync_NeverWritten_ReturnsNull()
    {
        var store = _database.CreateStore();

        Assert.That(await store.ReadCheckpointAsync("replay:a"), Is.Null);
    }

    [Test]
    public async Task WriteCheckpointAsync_TwoWritesAndTwoNames_LastWriteWinsPerNameAndSurvivesReopen()
    {
        var store = _database.CreateStore();
        await store.WriteCheckpointAsync("replay:a", "1");
        await store.WriteCheckpointAsync("replay:a", "2026-01-02T03:04:15.0000000Z");
        await store.WriteCheckpointAsync("replay:b", "ünï 🎉");
        await store.DisposeAsync();

        var reopened = _database.CreateStore();

        Assert.That(await reopened.ReadCheckpointAsync("replay:a"), Is.EqualTo("2026-01-02T03:04:15.0000000Z"));
        Assert.That(await reopened.ReadCheckpointAsync("replay:b"), Is.EqualTo("ünï 🎉"));
        Assert.That(await reopened.ReadCheckpointAsync("REPLAY:A"), Is.Null);
        Assert.That(_database.Scalar("SELECT count(*) FROM events"), Is.Zero);
    }

    [Test]
    public void Checkpoints_BadArguments_ThrowNamingTheParameter()
    {
        var store = _database.CreateStore();

        Assert.That(async () => await store.ReadCheckpointAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
        Assert.That(async () => await store.WriteCheckpointAsync(null!, "v"), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("name"));
        Assert.That(async () => await store.WriteCheckpointAsync("n", null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("value"));
    }

    [Test]
    public void Constructor_InvalidOptions_ThrowsOptionsValidationException()
    {
        Assert.That(
            () => new SqliteEventStore(new SqliteStoreOptions { MaxBatchSize = 0 }),
            Throws.TypeOf<Microsoft.Extensions.Options.OptionsValidationException>().With.Message.Contains("ConnectionString").And.Message.Contains("MaxBatchSize"));
    }
}
