using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

public sealed class SqliteProcessedEventLogServiceCollectionExtensionsTests
{
    private TempDatabase _database = null!;

    [SetUp]
    public void SetUp() => _database = new TempDatabase();

    [TearDown]
    public async Task TearDown() => await _database.DisposeAsync();

    [Test]
    public async Task AddSqliteProcessedEventLog_ReplacesTheInMemoryLogAndRemembersIdsInTheFile()
    {
        var services = new ServiceCollection();
        services.AddInMemoryProcessedEventLog();
        services.AddSqliteProcessedEventLog(_database.ConnectionString);
        var id = TimeUuid.Create();
        await using (var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }))
        {
            var log = provider.GetRequiredService<IProcessedEventLog>();
            Assert.That(log, Is.SameAs(provider.GetRequiredService<SqliteProcessedEventLog>()));
            await log.MarkProcessedAsync(id);
        }

        // Another process (a new provider) reading the same file knows the id.
        await using var again = services.BuildServiceProvider();
        Assert.That(await again.GetRequiredService<IProcessedEventLog>().IsProcessedAsync(id), Is.True);
    }

    [Test]
    public void AddSqliteProcessedEventLog_NoConnectionString_StartupValidationNamesIt()
    {
        var services = new ServiceCollection();
        services.AddSqliteProcessedEventLog(o => o.BusyTimeout = TimeSpan.FromSeconds(1));
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(provider.GetRequiredService<IStartupValidator>().Validate);

        Assert.That(failure!.Message, Does.Contain("ConnectionString"));
    }
}
