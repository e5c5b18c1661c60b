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
    public async Task TryReplaceCheckpointAsync_ExpectedAbsentAndAbsent_CreatesIt()
    {
        Assert.That(await _checkpoints.TryReplaceCheckpointAsync("lease/a", null, "owner-1"), Is.True);
        Assert.That(await _checkpoints.ReadCheckpointAsync("lease/a"), Is.EqualTo("owner-1"));
    }

    [Test]
    public async Task TryReplaceCheckpointAsync_ExpectedAbsentButPresent_ReturnsFalseAndKeepsValue()
    {
        await _checkpoints.WriteCheckpointAsync("lease/a", "owner-1");

        Assert.That(await _checkpoints.TryReplaceCheckpointAsync("lease/a", null, "owner-2"), Is.False);
        Assert.That(await _checkpoints.ReadCheckpointAsync("lease/a"), Is.EqualTo("owner-1"));
    }

    [Test]
    public async Task TryReplaceCheckpointAsync_ExpectedMatchesOrNot_ReplacesOnlyOnMatch()
    {
        await _checkpoints.WriteCheckpointAsync("lease/a", "owner-1");

        Assert.Multiple(async () =>
        {
            Assert.That(await _checkpoints.TryReplaceCheckpointAsync("lease/a", "owner-9", "owner-2"), Is.False);
            Assert.That(await _checkpoints.ReadCheckpointAsync("lease/a"), Is.EqualTo("owner-1"));
            Assert.That(await _checkpoints.TryReplaceCheckpointAsync("lease/a", "owner-1", "owner-2"), Is.True);
            Assert.That(await _checkpoints.ReadCheckpointAsync("lease/a"), Is.EqualTo("owner-2"));
        });
    }

    [Test]
    public async Task TryReplaceCheckpointAsync_NullValueOnMatch_DeletesIt()
    {
        await _checkpoints.WriteCheckpointAsync("lease/a", "owner-1");

        Assert.That(await _checkpoints.TryReplaceCheckpointAsync("lease/a", "owner-1", null), Is.True);
        Assert.That(await _checkpoints.ReadCheckpointAsync("lease/a"), Is.Null);
        Assert.That(await _checkpoints.TryReplaceCheckpointAsync("lease/a", null, "owner-3"), Is.True);
    }

    [Test]
    public async Task TryReplaceCheckpointAsync_ConcurrentRacersFromOneValue_ExactlyOneWins()
    {
        await _checkpoints.WriteCheckpointAsync("lease/race", "start");
        var other = (ICheckpointStore)await OpenSameAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? _checkpoints : other).TryReplaceCheckpointAsync("lease/race", "start", $"winner-{i}"))));

        Assert.That(results.Count(won => won), Is.EqualTo(1));
        var winner = Array.IndexOf(results, true);
        Assert.That(await _checkpoints.ReadCheckpointAsync("lease/race"), Is.EqualTo($"winner-{winner}"));
    }

    [Test]
    public async Task DeleteCheckpointAsync_PresentOrAbsent_LeavesItAbsent()
    {
        await _checkpoints.WriteCheckpointAsync("replay/a", "1");

        await _checkpoints.DeleteCheckpointAsync("replay/a");
        await _checkpoints.DeleteCheckpointAsync("replay/never");

        Assert.That(await _checkpoints.ReadCheckpointAsync("replay/a"), Is.Null);
        await _checkpoints.WriteCheckpointAsync("replay/a", "2");
        Assert.That(await _checkpoints.ReadCheckpointAsync("replay/a"), Is.EqualTo("2"));
    }

    [Test]
    public async Task ReadCheckpointsAsync_Prefix_ReturnsMatchingNamesInOrdinalOrder()
    {
        await _checkpoints.WriteCheckpointAsync("replay/b", "2");
        await _checkpoints.WriteCheckpointAsync("replay/a", "1");
        await _checkpoints.WriteCheckpointAsync("replay/B", "3");
        await _checkpoints.WriteCheckpointAsync("publish-cursor/x", "4");
        await _checkpoints.WriteCheckpointAsync("replay", "5");

        var replays = await ToListAsync(_checkpoints.ReadCheckpointsAsync("replay/"));
        var all = await ToListAsync(_checkpoints.ReadCheckpointsAsync(""));

        Assert.Multiple(() =>
        {
            Assert.That(replays, Is.EqualTo(new[] { Pair("replay/B", "3"), Pair("replay/a", "1"), Pair("replay/b", "2") }));
            Assert.That(all.Select(c => c.Key), Is.EqualTo(new[] { "publish-cursor/x", "replay", "replay/B", "replay/a", "replay/b" }));
        });

        static KeyValuePair<string, string> Pair(string name, string value) => new(name, value);
    }

    [Test]
    public void Checkpoints_BadArguments_Throw()
    {
        Assert.Multiple(() =>
        {
            Assert.That(async () => await _checkpoints.ReadCheckpointAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
            Assert.That(async () => await _checkpoints.WriteCheckpointAsync(null!, "v"), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("name"));
            Assert.That(async () => await _checkpoints.WriteCheckpointAsync("n", null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("value"));
            Assert.That(async () => await _checkpoints.TryReplaceCheckpointAsync("", null, "v"), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
            Assert.That(async () => await _checkpoints.DeleteCheckpointAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
            Assert.That(async () => await ToListAsync(_checkpoints.ReadCheckpointsAsync(null!)), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("prefix"));
        });
    }

    private static async Task<List<KeyValuePair<string, string>>> ToListAsync(IAsyncEnumerable<KeyValuePair<string, string>> source)
    {
        var list = new List<KeyValuePair<string, string>>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
