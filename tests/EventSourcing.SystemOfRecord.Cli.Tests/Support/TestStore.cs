using EventSourcing.SystemOfRecord.Kafka.Tests.Support;
using EventSourcing.SystemOfRecord.Sqlite;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Support;

/// <summary>A SQLite system of record in a temporary file, filled with events at chosen times.</summary>
internal sealed class TestStore : IAsyncDisposable
{
    public static readonly TimeSpan Increment = TimeSpan.FromSeconds(15);

    /// <summary>A fixed, bucket-aligned origin: tests place events relative to it.</summary>
    public static readonly DateTime Origin = new(2026, 3, 1, 10, 0, 0, DateTimeKind.Utc);

    private readonly TempFolder _folder;

    private TestStore(TempFolder folder, SqliteEventStore store, string path)
    {
        _folder = folder;
        Store = store;
        Path = path;
    }

    public SqliteEventStore Store { get; }

    /// <summary>The database file, for --sqlite.</summary>
    public string Path { get; }

    /// <summary>The folder the database is in, for other files of a test (a chart).</summary>
    public TempFolder Folder => _folder;

    public static async Task<TestStore> CreateAsync()
    {
        var folder = new TempFolder();
        var path = folder.File("events.db");
        var store = new SqliteEventStore(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" });
        await store.EnsureCreatedAsync(Increment);
        return new TestStore(folder, store, path);
    }

    /// <summary>Records an event at <paramref name="timestamp"/>, as appended by <paramref name="instance"/> when given.</summary>
    public async Task<RecordedEvent> AddAsync(DateTime timestamp, string topic = "orders", string? key = null, string message = "{}", string? instance = null)
    {
        var recorded = new RecordedEvent(TimeBuckets.Floor(timestamp, Increment.Ticks), TimeUuid.Create(new DateTimeOffset(timestamp)), topic, key, message) { Instance = instance };
        await Store.AppendAsync(recorded);
        return recorded;
    }

    /// <summary>Records <paramref name="count"/> events from <paramref name="start"/>, <paramref name="spacing"/> apart.</summary>
    public async Task<List<RecordedEvent>> AddManyAsync(DateTime start, int count, TimeSpan spacing, string topic = "orders", Func<int, string?>? key = null)
    {
        var appends = new List<Task<RecordedEvent>>(count);
        for (var i = 0; i < count; i++)
        {
            appends.Add(AddAsync(start + (spacing * i), topic, key?.Invoke(i), $"{{\"n\":{i}}}"));
        }

        return [.. await Task.WhenAll(appends)];
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        _folder.Dispose();
    }
}
