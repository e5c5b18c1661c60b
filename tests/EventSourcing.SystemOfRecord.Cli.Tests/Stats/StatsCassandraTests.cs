using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using EventSourcing.SystemOfRecord.Cassandra;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using EventSourcing.SystemOfRecord.Cli.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Stats;

/// <summary>The tool against a Cassandra store, over the native protocol to the CQL test server.</summary>
public sealed class StatsCassandraTests
{
    private static readonly DateTime Origin = TestStore.Origin;

    private static async Task<List<RecordedEvent>> FillAsync(CqlServerMock server, int count, Action<CassandraStoreOptions>? configure = null)
    {
        var options = new CassandraStoreOptions { ContactPoints = [server.ContactPoint], Keyspace = "sor", RetryDelay = TimeSpan.FromMilliseconds(5) };
        configure?.Invoke(options);
        await using var store = new CassandraEventStore(Options.Create(options));
        await store.EnsureCreatedAsync(TestStore.Increment);
        var events = new List<RecordedEvent>();
        for (var i = 0; i < count; i++)
        {
            var timestamp = Origin.AddSeconds(i * 7);
            var recorded = new RecordedEvent(TimeBuckets.Floor(timestamp, TestStore.Increment.Ticks), TimeUuid.Create(new DateTimeOffset(timestamp)), "orders", "k" + (i % 3), "{}");
            await store.AppendAsync(recorded);
            events.Add(recorded);
        }

        return events;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Test]
    public async Task Stats_CassandraStore_CountsItsEvents()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        var events = await FillAsync(server, 20);

        var run = await Sor.RunAsync(["stats", "--cassandra", server.ContactPoint, "--keyspace", "sor", "--from", Time.Arg(Origin), "--to", Time.Arg(Origin.AddMinutes(5)), "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        Assert.Multiple(() =>
        {
            Assert.That(json.RootElement.GetProperty("events").GetInt64(), Is.EqualTo(20));
            Assert.That(json.RootElement.GetProperty("bucketsWithEvents").GetInt64(), Is.EqualTo(events.Select(e => e.TimeBucket).Distinct().Count()));
            Assert.That(json.RootElement.GetProperty("store").GetString(), Is.EqualTo($"Cassandra sor.events at {server.ContactPoint}"));
        });
    }

    [Test]
    public async Task Read_CassandraStore_PrintsTheBucketsEvents()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();
        var events = await FillAsync(server, 6);

        var run = await Sor.RunAsync(["read", "--cassandra", server.ContactPoint, "--keyspace", "sor", "--bucket", Time.Arg(Origin)]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        var ids = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("eventId").GetString());
        Assert.That(ids, Is.EqualTo(events.Where(e => e.TimeBucket == Origin).Select(e => e.EventId.ToString())));
    }

    [Test]
    public async Task Stats_PasswordFromTheEnvironment_LogsInAndIsNeverPrinted()
    {
        await using var server = new CqlServerMock { Credentials = ("operator", "pa55-w0rd") };
        await server.StartAsync();
        await FillAsync(server, 3, o =>
        {
            o.UserName = "operator";
            o.Password = "pa55-w0rd";
        });
        var environment = new Dictionary<string, string> { ["SOR_CASSANDRA_PASSWORD"] = "pa55-w0rd" };
        string[] args = ["stats", "--cassandra", server.ContactPoint, "--keyspace", "sor", "--user", "operator", "--from", Time.Arg(Origin), "--to", Time.Arg(Origin.AddMinutes(1)), "--verbose"];

        var run = await Sor.RunAsync(args, environment, CancellationToken.None);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        Assert.That(run.Output + run.Error, Does.Not.Contain("pa55-w0rd"));
    }

    [Test]
    public async Task Stats_WrongPassword_ExitsStoreUnavailableWithoutPrintingIt()
    {
        await using var server = new CqlServerMock { Credentials = ("operator", "right-one") };
        await server.StartAsync();

        var run = await Sor.RunAsync(["stats", "--cassandra", server.ContactPoint, "--keyspace", "sor", "--user", "operator", "--password", "wrong-one-xyz", "--from", "now-1h", "--to", "now", "--verbose"]);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.StoreUnavailable), run.ToString());
            Assert.That(run.Output + run.Error, Does.Not.Contain("wrong-one-xyz"));
        });
    }

    [Test]
    public async Task Stats_UserWithoutAnyPassword_ExitsUsageNamingTheVariable()
    {
        var run = await Sor.RunAsync(["stats", "--cassandra", "127.0.0.1", "--keyspace", "sor", "--user", "operator", "--from", "now-1h", "--to", "now"]);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Usage), run.ToString());
            Assert.That(run.Error, Does.Contain("SOR_CASSANDRA_PASSWORD"));
        });
    }

    [Test]
    public async Task Stats_CassandraUnreachable_ExitsStoreUnavailableWithoutAStackTrace()
    {
        var run = await Sor.RunAsync(["stats", "--cassandra", $"127.0.0.1:{ClosedPort()}", "--keyspace", "sor", "--connect-timeout", "2s", "--from", "now-1h", "--to", "now"]);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.StoreUnavailable), run.ToString());
            Assert.That(run.Error, Does.Contain("Cannot open Cassandra sor.events"));
            Assert.That(run.Error, Does.Not.Contain("   at "));
        });
    }

    [Test]
    public async Task Stats_KeyspaceWithoutAStore_ExitsStoreUnavailableAndCreatesNothing()
    {
        await using var server = new CqlServerMock();
        await server.StartAsync();

        var run = await Sor.RunAsync(["stats", "--cassandra", server.ContactPoint, "--keyspace", "nothing_here", "--from", "now-1h", "--to", "now"]);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.StoreUnavailable), run.ToString());
            Assert.That(server.ExecutedCql.Any(cql => cql.StartsWith("CREATE", StringComparison.OrdinalIgnoreCase)), Is.False, "the tool creates no keyspace or table");
        });
    }
}
