using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;
using EventSourcing.SystemOfRecord.Tests.Storage;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Storage;

/// <summary>Each store on a fresh SQLite file in a temporary folder, with the default options (synchronous=FULL).</summary>
public sealed class SqliteStoreFixture : IEventStoreFixture
{
    private readonly TempDatabase _database = new();

    public Task<IEventStore> CreateStoreAsync() => Task.FromResult<IEventStore>(_database.CreateStore());

    /// <summary>A second store instance on the same file, with its own connections and writer, as another process opens it.</summary>
    public Task<IEventStore> OpenSameStoreAsync(IEventStore store) => Task.FromResult<IEventStore>(_database.CreateStore());

    public ValueTask DisposeAsync() => _database.DisposeAsync();
}

public sealed class SqliteEventStoreContractTests : EventStoreContractTests<SqliteStoreFixture>;

public sealed class SqliteCheckpointStoreContractTests : CheckpointStoreContractTests<SqliteStoreFixture>;
