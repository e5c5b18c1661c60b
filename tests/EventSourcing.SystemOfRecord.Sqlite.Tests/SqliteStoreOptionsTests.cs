using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests;

public sealed class SqliteStoreOptionsTests
{
    [Test]
    public void Defaults_AreFullSynchronousThirtySecondsAnd512()
    {
        var options = new SqliteStoreOptions();

        Assert.That(options.Synchronous, Is.EqualTo(SqliteSynchronousMode.Full));
        Assert.That(options.BusyTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(options.MaxBatchSize, Is.EqualTo(512));
        Assert.That(options.ConnectionString, Is.Null);
    }

    [Test]
    public void Validate_FileConnectionString_HasNoErrors()
    {
        var options = new SqliteStoreOptions { ConnectionString = "Data Source=events.db;Cache=Private" };

        Assert.That(options.Validate(), Is.Empty);
    }

    [Test]
    public void ThrowIfInvalid_EveryBadSetting_OneMessageNamesThemAll()
    {
        var options = new SqliteStoreOptions
        {
            ConnectionString = " ",
            Synchronous = (SqliteSynchronousMode)42,
            BusyTimeout = TimeSpan.FromSeconds(-1),
            MaxBatchSize = 0,
        };

        var ex = Assert.Throws<OptionsValidationException>(options.ThrowIfInvalid);

        Assert.That(ex!.Failures.Count(), Is.EqualTo(4));
        Assert.That(ex.Message, Does.Contain("ConnectionString").And.Contain("Synchronous").And.Contain("BusyTimeout").And.Contain("MaxBatchSize"));
    }

    [TestCase("Data Source=:memory:")]
    [TestCase("Data Source=shared;Mode=Memory;Cache=Shared")]
    public void Validate_InMemoryDatabase_IsRefused(string connectionString)
    {
        var errors = new SqliteStoreOptions { ConnectionString = connectionString }.Validate();

        Assert.That(errors, Has.Count.EqualTo(1).And.Some.Contains("in-memory"));
    }

    [Test]
    public void Validate_ReadOnlyDatabase_IsRefused()
    {
        var errors = new SqliteStoreOptions { ConnectionString = "Data Source=events.db;Mode=ReadOnly" }.Validate();

        Assert.That(errors, Has.Count.EqualTo(1).And.Some.Contains("read-only"));
    }

    [TestCase("Password=hunter2")]
    [TestCase("Data Source=events.db;Password=hunter2;Bogus Keyword=1")]
    public void Validate_BadConnectionString_NeverQuotesThePassword(string connectionString)
    {
        var errors = new SqliteStoreOptions { ConnectionString = connectionString }.Validate();

        Assert.That(errors, Has.Count.EqualTo(1).And.All.Contains("ConnectionString"));
        Assert.That(errors, Has.None.Contains("hunter2"));
    }

    [Test]
    public async Task Store_ConnectionStringWithPassword_NeverLogsOrRethrowsThePassword()
    {
        await using var database = new TempDatabase();
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var options = new SqliteStoreOptions { ConnectionString = database.ConnectionString + ";Password=hunter2" };
        await using var store = new SqliteEventStore(options, factory.CreateLogger<SqliteEventStore>());

        // The bundled SQLite has no encryption, so opening fails: the failure path is the one most likely to leak.
        var ex = Assert.ThrowsAsync(Is.InstanceOf<Exception>(), async () => await store.AppendAsync(TestEvents.Create("m")));

        Assert.That(store.DataSource, Is.EqualTo(database.FilePath));
        Assert.That(logs.Messages, Is.Not.Empty);
        Assert.That(logs.Messages, Has.None.Contains("hunter2"));
        Assert.That(ex!.ToString(), Does.Not.Contain("hunter2"));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider, ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

        public IReadOnlyCollection<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _messages.Enqueue(formatter(state, exception) + " " + exception);

        public void Dispose()
        {
        }
    }
}
