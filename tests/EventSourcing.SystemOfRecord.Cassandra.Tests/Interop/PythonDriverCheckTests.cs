using System.Diagnostics;
using System.Text.Json;
using EventSourcing.SystemOfRecord.Cassandra.Client;
using Microsoft.Extensions.Logging.Abstractions;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Interop;

/// <summary>
/// Holds the test server, and through it the client, to an independent reading of the protocol: the DataStax
/// Python driver (Debian package python3-cassandra) reads what the .NET store wrote, writes with PREPARE/EXECUTE,
/// and pages; the .NET store then reads what the driver wrote. A second check runs the driver against a two-DC test
/// cluster with lz4 compression and pushed events. Skipped (reported) when the driver is missing, failed instead when
/// SOR_REQUIRE_ALL_CHECKS=1.
/// </summary>
public sealed class PythonDriverCheckTests
{
    // Debian's interpreter, where apt installs python3-cassandra; SOR_PYTHON overrides it.
    private static readonly string Python = Environment.GetEnvironmentVariable("SOR_PYTHON") is { Length: > 0 } custom ? custom : "/usr/bin/python3";
    private static readonly DateTime ReadBucket = new(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime WriteBucket = new(2024, 3, 1, 12, 0, 15, DateTimeKind.Utc);

    [Test]
    [Category("Slow")] // starts a Python process
    [CancelAfter(120_000)]
    public async Task PythonDriver_ReadsWritesAndPages_AgreesWithStore(CancellationToken cancellationToken)
    {
        await RequireDriverAsync();
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = new CassandraEventStore(Options.Create(new CassandraStoreOptions { ContactPoints = [server.ContactPoint], Keyspace = "pycheck" }));
        await store.EnsureCreatedAsync(TimeSpan.FromSeconds(15), cancellationToken);
        var fromStore = new[]
        {
            new RecordedEvent(ReadBucket, TimeUuid.Create(new DateTimeOffset(ReadBucket.AddSeconds(1))), "orders", "order-42", "{\"order\":42} ✓", new Dictionary<string, string> { ["trace"] = "abc", ["ünï"] = "値" })
            {
                Type = "orders.placed.v1",
                Instance = "orders-7",
                TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            },
            new RecordedEvent(ReadBucket, TimeUuid.Create(new DateTimeOffset(ReadBucket.AddSeconds(2))), "orders", null, "second"),
        };
        foreach (var e in fromStore)
        {
            await store.AppendAsync(e, cancellationToken);
        }

        await store.WriteCheckpointAsync("dotnet-cursor", "42", cancellationToken);

        var output = await RunScriptAsync(server.Port, cancellationToken);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        var read = root.GetProperty("read").EnumerateArray().ToList();
        var written = root.GetProperty("written").EnumerateArray().Select(e => e.GetString()!).ToList();
        var paged = root.GetProperty("paged").EnumerateArray().Select(e => e.GetString()!).ToList();
        var lwt = root.GetProperty("lwt");

        var readBack = new List<RecordedEvent>();
        await foreach (var e in store.ReadBucketAsync(WriteBucket, cancellationToken))
        {
            readBack.Add(e);
        }

        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("protocol_version").GetInt32(), Is.EqualTo(4));
            Assert.That(server.UnsupportedVersionRequests, Is.GreaterThanOrEqualTo(1), "the driver first tries v5 and downgrades on the protocol error");
            Assert.That(read.Select(r => r.GetProperty("event_id").GetString()), Is.EqualTo(fromStore.Select(e => e.EventId.ToString())));
            Assert.That(read[0].GetProperty("message").GetString(), Is.EqualTo("{\"order\":42} ✓"));
            Assert.That(read[0].GetProperty("key").GetString(), Is.EqualTo("order-42"));
            Assert.That(read[0].GetProperty("headers").GetProperty("ünï").GetString(), Is.EqualTo("値"));
            Assert.That(read[0].GetProperty("ts_ms").GetInt64(), Is.EqualTo(new DateTimeOffset(ReadBucket.AddSeconds(1)).ToUnixTimeMilliseconds()));
            Assert.That(read[1].GetProperty("key").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(read[0].GetProperty("type").GetString(), Is.EqualTo("orders.placed.v1"));
            Assert.That(read[0].GetProperty("instance").GetString(), Is.EqualTo("orders-7"));
            Assert.That(read[0].GetProperty("traceparent").GetString(), Is.EqualTo(fromStore[0].TraceParent));
            Assert.That(read[1].GetProperty("type").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(lwt.GetProperty("insert").GetBoolean(), Is.True);
            Assert.That(lwt.GetProperty("insert_again").GetBoolean(), Is.False);
            Assert.That(lwt.GetProperty("insert_again_current").GetString(), Is.EqualTo("one"), "a refused IF NOT EXISTS returns the current row");
            Assert.That(lwt.GetProperty("update_wrong").GetBoolean(), Is.False);
            Assert.That(lwt.GetProperty("update_wrong_current").GetString(), Is.EqualTo("one"), "a refused IF returns the condition's column");
            Assert.That(lwt.GetProperty("update_right").GetBoolean(), Is.True);
            Assert.That(lwt.GetProperty("delete_right").GetBoolean(), Is.True);
            Assert.That(lwt.GetProperty("delete_absent").GetBoolean(), Is.False);
            Assert.That(lwt.GetProperty("listed").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "dotnet-cursor" }));
            Assert.That(root.GetProperty("pages").GetInt32(), Is.EqualTo(7), "250 rows at a fetch size of 40");
            Assert.That(paged, Is.EqualTo(written));
            Assert.That(readBack.Select(e => e.EventId.ToString()), Is.EqualTo(written));
            Assert.That(readBack[0].Message, Is.EqualTo("python 0 — ✓"));
            Assert.That(readBack[0].Key, Is.Null);
            Assert.That(readBack[0].Headers, Is.EquivalentTo(new Dictionary<string, string> { ["n"] = "0", ["ünï"] = "値" }));
            Assert.That(readBack[1].Key, Is.EqualTo("k1"));
            Assert.That(readBack[1].Headers, Is.Empty);
        });
    }

    [TestCase(false, TestName = "PythonDriver_TwoDataCenterClusterWithLz4AndEvents_DiscoversRoutesLocallyAndFollowsTheRing(an address per node)")]
    [TestCase(true, TestName = "PythonDriver_TwoDataCenterClusterWithLz4AndEvents_DiscoversRoutesLocallyAndFollowsTheRing(a port per node, peers_v2)")]
    [CancelAfter(120_000)]
    public async Task PythonDriver_TwoDataCenterClusterWithLz4AndEvents_DiscoversRoutesLocallyAndFollowsTheRing(bool distinctPorts, CancellationToken cancellationToken)
    {
        await RequireDriverAsync(lz4: true);
        await using var nodes = await CqlTestCluster.StartAsync([("dc1", "r1"), ("dc1", "r2"), ("dc1", "r1"), ("dc2", "r1"), ("dc2", "r1")], distinctPorts: distinctPorts);
        await using (var client = new CqlCluster(new CqlClientSettings { ContactPoints = [nodes.Nodes[0].ContactPoint], LocalDataCenter = "dc1" }, NullLogger.Instance))
        {
            await client.ExecuteAsync(new CqlStatement("CREATE KEYSPACE IF NOT EXISTS pycluster WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '2', 'dc2': '1'}", [], CassandraConsistency.LocalQuorum, Prepare: false), cancellationToken);
            await client.ExecuteAsync(new CqlStatement("CREATE TABLE IF NOT EXISTS pycluster.kv (k text, n int, v text, PRIMARY KEY ((k), n))", [], CassandraConsistency.LocalQuorum, Prepare: false), cancellationToken);
        }

        var script = Path.Combine(TestContext.CurrentContext.TestDirectory, "Support", "python_driver_cluster_check.py");
        var start = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { script, "127.0.0.1", nodes.Nodes[0].Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "pycluster", "dc1" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PYTHONIOENCODING"] = "utf-8";
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            var first = await process.StandardOutput.ReadLineAsync(cancellationToken)
                ?? throw new AssertionException($"The Python driver check failed:\n{await error}");
            using var before = JsonDocument.Parse(first);
            var hosts = before.RootElement.GetProperty("hosts").EnumerateArray()
                .Select(h => (h.GetProperty("endpoint").GetString(), h.GetProperty("dc").GetString(), h.GetProperty("rack").GetString()))
                .ToList();
            var owners = before.RootElement.GetProperty("owners").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
            var coordinators = before.RootElement.GetProperty("coordinators").EnumerateArray().Select(c => c.GetString()).ToList();
            Assert.Multiple(() =>
            {
                Assert.That(before.RootElement.GetProperty("protocol_version").GetInt32(), Is.EqualTo(4));
                Assert.That(before.RootElement.GetProperty("compression").GetString(), Is.EqualTo("lz4"));
                Assert.That(hosts, Is.EquivalentTo(nodes.Nodes.Select(n => (n.ContactPoint, n.Node.DataCenter, n.Node.Rack))), "every node found, on its own address and port, with its data center and rack");
                Assert.That(owners, Is.EquivalentTo(nodes.Nodes.ToDictionary(n => n.Node.Token.ToString(System.Globalization.CultureInfo.InvariantCulture), n => n.ContactPoint)), "tokens from system.local and system.peers_v2");
                Assert.That(coordinators, Has.Count.EqualTo(30).And.All.AnyOf(nodes.In("dc1").Select(n => (object)n.ContactPoint).ToArray()), "LOCAL_QUORUM writes coordinated in dc1");
                Assert.That(before.RootElement.GetProperty("read_back").GetInt32(), Is.EqualTo(30), "rows intact through lz4 both ways");
                Assert.That(nodes.In("dc2").Sum(n => n.Statements), Is.Zero);
                Assert.That(nodes.Nodes.Sum(n => n.CompressedFramesReceived), Is.GreaterThanOrEqualTo(60));
            });

            // The ring changes: a node joins dc1, dc2's second node is announced down (it keeps running), dc1's third node leaves.
            var joined = await nodes.AddNodeAsync("dc1", "r2");
            await nodes.AnnounceAsync(4, up: false);
            var leaving = nodes.Nodes[2].ContactPoint;
            await nodes.RemoveNodeAsync(2);
            await process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(new object[]
            {
                new { endpoint = joined.ContactPoint, present = true, up = true },
                new { endpoint = nodes.Nodes[4].ContactPoint, present = true, up = false },
                new { endpoint = leaving, present = false, up = false },
            }));
            await process.StandardInput.FlushAsync(cancellationToken);

            var second = await process.StandardOutput.ReadLineAsync(cancellationToken)
                ?? throw new AssertionException($"The Python driver check failed:\n{await error}");
            using var after = JsonDocument.Parse(second);
            var view = after.RootElement.GetProperty("hosts").EnumerateArray()
                .ToDictionary(h => h.GetProperty("endpoint").GetString()!, h => (Dc: h.GetProperty("dc").GetString(), Up: h.GetProperty("up").GetBoolean()));
            Assert.Multiple(() =>
            {
                Assert.That(view.GetValueOrDefault(joined.ContactPoint), Is.EqualTo(("dc1", true)), "NEW_NODE: the driver read the ring again and found the node");
                Assert.That(view.GetValueOrDefault(nodes.Nodes[4].ContactPoint).Up, Is.False, "STATUS_CHANGE DOWN marked the remote node down");
                Assert.That(view.Keys, Does.Not.Contain(leaving), "REMOVED_NODE dropped the node");
            });
            await process.WaitForExitAsync(cancellationToken);
            Assert.That(process.ExitCode, Is.Zero, await error);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task RequireDriverAsync(bool lz4 = false)
    {
        string? missing = null;
        if (!File.Exists(Python))
        {
            missing = $"{Python} is not installed";
        }
        else
        {
            var (exitCode, _, error) = await RunAsync(["-c", "import cassandra"], CancellationToken.None);
            if (exitCode != 0)
            {
                missing = $"the DataStax Python driver is not installed (apt-get install python3-cassandra): {error.Trim()}";
            }
            else if (lz4 && (await RunAsync(["-c", "import lz4.block"], CancellationToken.None)).ExitCode != 0)
            {
                missing = "python3-lz4 is not installed (apt-get install python3-lz4), so the driver cannot compress";
            }
        }

        if (missing is null)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable("SOR_REQUIRE_ALL_CHECKS") == "1")
        {
            Assert.Fail($"SOR_REQUIRE_ALL_CHECKS=1 but {missing}.");
        }

        Assert.Ignore($"Skipped: {missing}.");
    }

    private static async Task<string> RunScriptAsync(int port, CancellationToken cancellationToken)
    {
        var script = Path.Combine(TestContext.CurrentContext.TestDirectory, "Support", "python_driver_check.py");
        var (exitCode, output, error) = await RunAsync(
            [script, "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "pycheck",
             new DateTimeOffset(ReadBucket).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
             new DateTimeOffset(WriteBucket).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)],
            cancellationToken);
        Assert.That(exitCode, Is.Zero, $"The Python driver check failed:\n{error}");
        return output;
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PYTHONIOENCODING"] = "utf-8";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }
}
