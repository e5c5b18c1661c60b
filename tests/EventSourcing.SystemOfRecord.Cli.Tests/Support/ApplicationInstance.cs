using EventSourcing.SystemOfRecord.Kafka;
using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Support;

/// <summary>
/// An application instance as another process would run it: its own store object on the test's SQLite file, its own
/// Kafka producer, publish recovery on (<see cref="Lease"/>), <see cref="PublishMode.Committed"/>. It can hold its
/// publishes in flight and crash: after <see cref="CrashAsync"/> the store holds what a killed process leaves behind, a
/// publish cursor that says "live" and stops short of the events still in flight.
/// </summary>
internal sealed class ApplicationInstance : IAsyncDisposable
{
    /// <summary>The instance's lease: a takeover watches the record this long.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(1);

    private readonly SqliteEventStore _sqlite;
    private readonly CrashableStore _store;
    private readonly KafkaEventPublisher _kafka;
    private readonly SwitchablePublisher _publisher;

    private ApplicationInstance(string path, string instance, string bootstrapServers, string topic)
    {
        Name = instance;
        _sqlite = new SqliteEventStore(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" });
        _store = new CrashableStore(_sqlite);
        _kafka = new KafkaEventPublisher(Options.Create(new KafkaPublisherOptions { BootstrapServers = bootstrapServers }));
        _publisher = new SwitchablePublisher(_kafka);
        System = new SystemOfRecord(
            _store,
            _publisher,
            Options.Create(new SystemOfRecordOptions
            {
                BucketIncrement = TestStore.Increment,
                DefaultTopic = topic,
                InstanceName = instance,
                PublishMode = PublishMode.Committed,
            }),
            publishRecovery: new PublishRecoveryOptions { LeaseDuration = Lease, RecoveryInterval = TimeSpan.FromMilliseconds(100) });
    }

    public string Name { get; }

    public SystemOfRecord System { get; }

    public static async Task<ApplicationInstance> StartAsync(string path, string instance, string bootstrapServers, string topic)
    {
        var application = new ApplicationInstance(path, instance, bootstrapServers, topic);
        await application.System.StartAsync();
        return application;
    }

    /// <summary>Appends <paramref name="count"/> events (keys k0..k4); returns them once stored.</summary>
    public async Task<List<RecordedEvent>> AppendManyAsync(int count)
    {
        var appended = new List<RecordedEvent>(count);
        for (var i = 0; i < count; i++)
        {
            appended.Add(await System.AppendAsync($"{{\"n\":{i}}}", key: "k" + (i % 5)));
        }

        return appended;
    }

    /// <summary>Waits until the cursor kept in the store has passed <paramref name="recorded"/>: a crash from now on does not publish it again.</summary>
    public async Task WaitUntilStoredCursorPassesAsync(RecordedEvent recorded)
    {
        await System.WhenPublishedAsync(recorded).WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually.UntilAsync(async () => await StoredCursorAsync() >= recorded.EventId, $"the stored cursor of {Name} passed {recorded.EventId}");
    }

    /// <summary>From now on publishes wait: the events appended next stay in flight.</summary>
    public void HoldPublishes() => _publisher.Hold();

    /// <summary>
    /// Dies as a killed process does: nothing more reaches the store (the cursor and the lease stay as last written,
    /// "live") and the events in flight never reach Kafka, although this instance, about to vanish, believes they did.
    /// </summary>
    public async Task CrashAsync()
    {
        _store.Crash();
        _publisher.ReleaseIntoTheVoid();
        try
        {
            await System.DisposeAsync();
        }
        catch (IOException)
        {
            // A cursor write that fails while the pipeline stops escapes its disposal; a killed process would not have
            // got that far anyway: whatever was written last stays.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await System.DisposeAsync();
        await _kafka.DisposeAsync();
        await _sqlite.DisposeAsync();
    }

    private async Task<TimeUuid> StoredCursorAsync()
    {
        await foreach (var cursor in System.GetPublishCursorsAsync())
        {
            if (cursor.InstanceName == Name)
            {
                return cursor.Cursor;
            }
        }

        return default;
    }

    /// <summary>Passes everything through until <see cref="Crash"/>; then every call fails, as for a process that is gone.</summary>
    private sealed class CrashableStore(SqliteEventStore inner) : IEventStore, ICheckpointStore
    {
        private volatile bool _crashed;

        public void Crash() => _crashed = true;

        public ValueTask EnsureCreatedAsync(TimeSpan bucketIncrement, CancellationToken cancellationToken = default) =>
            Alive().EnsureCreatedAsync(bucketIncrement, cancellationToken);

        public ValueTask<TimeSpan?> GetBucketIncrementAsync(CancellationToken cancellationToken = default) => Alive().GetBucketIncrementAsync(cancellationToken);

        public ValueTask AppendAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken = default) => Alive().AppendAsync(recordedEvent, cancellationToken);

        public IAsyncEnumerable<RecordedEvent> ReadBucketAsync(DateTime bucket, CancellationToken cancellationToken = default) =>
            Alive().ReadBucketAsync(bucket, cancellationToken);

        public IAsyncEnumerable<RecordedEvent> ReadRangeAsync(DateTime fromBucket, DateTime toExclusive, CancellationToken cancellationToken = default) =>
            Alive().ReadRangeAsync(fromBucket, toExclusive, cancellationToken);

        public ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default) => Alive().ReadCheckpointAsync(name, cancellationToken);

        public ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default) =>
            Alive().WriteCheckpointAsync(name, value, cancellationToken);

        public ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default) =>
            Alive().TryReplaceCheckpointAsync(name, expected, value, cancellationToken);

        public ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default) => Alive().DeleteCheckpointAsync(name, cancellationToken);

        public IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, CancellationToken cancellationToken = default) =>
            Alive().ReadCheckpointsAsync(prefix, cancellationToken);

        private SqliteEventStore Alive() => _crashed ? throw new IOException("The process is gone.") : inner;
    }

    /// <summary>Publishes through Kafka; can hold publishes, then let them "succeed" without sending anything.</summary>
    private sealed class SwitchablePublisher(IEventPublisher inner) : IEventPublisher
    {
        private volatile TaskCompletionSource? _gate;
        private volatile bool _void;

        public PublishLimits Limits => inner.Limits;

        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ReleaseIntoTheVoid()
        {
            _void = true;
            _gate?.TrySetResult();
        }

        public async ValueTask PublishAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
        {
            if (_gate is { } gate)
            {
                await gate.Task.WaitAsync(cancellationToken);
            }

            if (!_void)
            {
                await inner.PublishAsync(recordedEvent, cancellationToken);
            }
        }
    }
}
