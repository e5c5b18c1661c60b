namespace EventSourcing.SystemOfRecord.Tests.Storage;

/// <summary>
/// What every store that keeps checkpoints (<see cref="ICheckpointStore"/>) does. A store's test project subclasses it
/// in one line with the fixture it uses for <see cref="EventStoreContractTests{TFixture}"/>:
/// <c>public sealed class SqliteCheckpointStoreContractTests : CheckpointStoreContractTests&lt;SqliteStoreFixture&gt;;</c>
/// </summary>
[TestFixture]
public abstract class CheckpointStoreContractTests<TFixture> : StoreContractTests<TFixture>
    where TFixture : IEventStoreFixture, new()
{
    private static readonly TimeSpan Increment = TimeSpan.FromSeconds(15);

    private ICheckpointStore _checkpoints = default!;

    [SetUp]
    public async Task SetUpCheckpoints()
    {
        await Store.EnsureCreatedAsync(Increment);
        _checkpoints = Store as ICheckpointStore
            ?? throw new InvalidOperationException($"{Store.GetType().Name} does not implement ICheckpointStore.");
    }

    [Test]
    public async Task ReadCheckpointAsync_NeverWritten_ReturnsNull()
    {
        Assert.That(await _checkpoints.ReadCheckpointAsync("replay/a"), Is.Null);
    }

    [Test]
    public async Task WriteCheckpointAsync_SeveralWritesAndNames_LastWriteWinsPerNameAndNamesAreCaseSensitive()
    {
        await _checkpoints.WriteCheckpointAsync("replay/a", "1");
        await _checkpoints.WriteCheckpointAsync("replay/a", "2");
        await _checkpoints.WriteCheckpointAsync("replay/b", "v1 from=2024-06-01T10:00:00.0000000Z next=-");
        await _checkpoints.WriteCheckpointAsync("replay/c", "");

        Assert.Multiple(async () =>
        {
            Assert.That(await _checkpoints.ReadCheckpointAsync("replay/a"), Is.EqualTo("2"));
            Assert.That(await _checkpoints.ReadCheckpointAsync("replay/b"), Is.EqualTo("v1 from=2024-06-01T10:00:00.0000000Z next=-"));
            Assert.That(await _checkpoints.ReadCheckpointAsync("replay/c"), Is.EqualTo(""));
            Assert.That(await _checkpoints.ReadCheckpointAsync("REPLAY/A"), Is.Null);
        });
    }

    [Test]
    public async Task WriteCheckpointAsync_ThenReopen_ValueSurvives()
    {
        await _checkpoints.WriteCheckpointAsync("publish-watermark", "2024-06-01T10:00:15.0000000Z");

        var reopened = await OpenSameAsync();

        Assert.That(await ((ICheckpointStore)reopened).ReadCheckpointAsync("publish-watermark"), Is.EqualTo("2024-06-01T10:00:15.0000000Z"));
    }

    [Test]
    public async Task WriteCheckpointAsync_ConcurrentWritersOfDifferentNames_KeepsEveryName()
    {
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            for (var n = 0; n < 5; n++)
            {
                await _checkpoints.WriteCheckpointAsync($"replay/{i}", n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        })));

        for (var i = 0; i < 20; i++)
        {
            Assert.That(await _checkpoints.ReadCheckpointAsync($"replay/{i}"), Is.EqualTo("4"), $"replay/{i}");
        }
    }

    [Test]
    public void Checkpoints_BadArguments_Throw()
    {
        Assert.Multiple(() =>
        {
            Assert.That(async () => await _checkpoints.ReadCheckpointAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
            Assert.That(async () => await _checkpoints.WriteCheckpointAsync(null!, "v"), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("name"));
            Assert.That(async () => await _checkpoints.WriteCheckpointAsync("n", null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("value"));
        });
    }
}
