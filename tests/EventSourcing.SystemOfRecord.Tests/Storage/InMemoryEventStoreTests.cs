namespace EventSourcing.SystemOfRecord.Tests.Storage;

public sealed class InMemoryStoreFixture : IEventStoreFixture
{
    public Task<IEventStore> CreateStoreAsync() => Task.FromResult<IEventStore>(new InMemoryEventStore());

    public Task<IEventStore> OpenSameStoreAsync(IEventStore store) => Task.FromResult(store);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public sealed class InMemoryEventStoreContractTests : EventStoreContractTests<InMemoryStoreFixture>;

public sealed class InMemoryCheckpointStoreContractTests : CheckpointStoreContractTests<InMemoryStoreFixture>;
