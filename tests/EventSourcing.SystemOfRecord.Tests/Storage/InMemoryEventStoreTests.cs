namespace EventSourcing.SystemOfRecord.Tests.Storage;

public sealed class InMemoryStoreFixture : IEventStoreFixture
{
    public Task<IEventStore> CreateStoreAsync() => Task.FromResult<IEventStore>(new InMemoryEventStore());

    public Task<IEventStore> OpenSameStoreAsync(IEventStore store) => Task.FromResult(store);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public sealed class InMemoryEventStoreContractTests : EventStoreContractTests<InMemoryStoreFixture>;

public class InMemoryEventStoreTests
{
    [Test]
    public async Task ReadCheckpointAsync_NeverWritten_ReturnsNull()
    {
        var store = new InMemoryEventStore();

        Assert.That(await store.ReadCheckpointAsync("replay:a"), Is.Null);
    }

    [Test]
    public async Task WriteCheckpointAsync_TwoWritesAndTwoNames_LastWriteWinsPerName()
    {
        var store = new InMemoryEventStore();

        await store.WriteCheckpointAsync("replay:a", "1");
        await store.WriteCheckpointAsync("replay:a", "2");
        await store.WriteCheckpointAsync("replay:b", "x");

        Assert.Multiple(async () =>
        {
            Assert.That(await store.ReadCheckpointAsync("replay:a"), Is.EqualTo("2"));
            Assert.That(await store.ReadCheckpointAsync("replay:b"), Is.EqualTo("x"));
            Assert.That(await store.ReadCheckpointAsync("REPLAY:A"), Is.Null);
            Assert.That(store.Count, Is.Zero);
        });
    }

    [Test]
    public void Checkpoints_BadArguments_Throw()
    {
        var store = new InMemoryEventStore();

        Assert.Multiple(() =>
        {
            Assert.That(async () => await store.ReadCheckpointAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
            Assert.That(async () => await store.WriteCheckpointAsync(null!, "v"), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("name"));
            Assert.That(async () => await store.WriteCheckpointAsync("n", null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("value"));
        });
    }
}
