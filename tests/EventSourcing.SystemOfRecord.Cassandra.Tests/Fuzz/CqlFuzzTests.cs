using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Fuzz;

/// <summary>
/// Mutated copies of valid response frames, recorded from the test server, fed to the parser and to live connections.
/// Every case ends in a response or a typed <see cref="CassandraException"/>, within the request timeout, with bounded
/// allocation: never a crash, a hang or another exception type. SOR_FUZZ_SEED and SOR_FUZZ_CASES change the run; a
/// failure names the seed, the case and the mutations, so that it can be replayed.
/// </summary>
[NonParallelizable]
public sealed class CqlFuzzTests
{
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("SOR_FUZZ_SEED"), out var seed) ? seed : 20_261_128;
    private static readonly int ConnectionCases = int.TryParse(Environment.GetEnvironmentVariable("SOR_FUZZ_CASES"), out var cases) ? cases : 3000;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMilliseconds(500);

    private static List<byte[]> _recorded = [];

    [OneTimeSetUp]
    public async Task RecordValidFramesAsync()
    {
        await using var server = new CqlServerMock { RecordResponses = true, Credentials = ("fuzz", "pw") };
        await server.StartAsync();
        await using (var cluster = new CqlCluster(new CqlClientSettings { ContactPoints = [server.ContactPoint], UserName = "fuzz", Password = "pw", RetryDelay = TimeSpan.Zero, MaxRetries = 0 }, NullLogger.Instance))
        {
            async Task RunAsync(string cql, bool prepare, params object?[] values)
            {
                try
                {
                    await cluster.ExecuteAsync(new CqlStatement(cql, values, CassandraConsistency.One, Prepare: prepare));
                }
                catch (CassandraServerException)
                {
                    // Error frames are recorded too.
                }
            }

            await RunAsync("CREATE KEYSPACE IF NOT EXISTS fz WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", false);
            await RunAsync("CREATE TABLE IF NOT EXISTS fz.t (k text, id timeuuid, ts timestamp, n bigint, i int, f boolean, b blob, u uuid, a inet, m map<text, text>, s set<text>, PRIMARY KEY ((k), id))", false);
            for (var i = 0; i < 3; i++)
            {
                var id = TimeUuid.Create(DateTimeOffset.UnixEpoch.AddDays(20_000 + i));
                await RunAsync("INSERT INTO fz.t (k, id, ts, n, i, f, b, u, m, s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", true,
                    "p", id, DateTime.UtcNow, (long)i, i, i % 2 == 0, new byte[] { 1, 2, 3 }, Guid.NewGuid(), new Dictionary<string, string> { ["h"] = "v ✓" }, null);
            }

            await RunAsync("INSERT INTO fz.t (k, id) VALUES (?, ?) IF NOT EXISTS", false, "p", TimeUuid.Create(DateTimeOffset.UnixEpoch.AddDays(20_000)));
            await RunAsync("SELECT k, id, ts, n, i, f, b, u, a, m, s FROM fz.t WHERE k = ?", false, "p");
            await RunAsync("SELECT * FROM system.local WHERE key='local'", false);
            await RunAsync("SELECT peer, rpc_address, schema_version FROM system.peers", false);
            foreach (var code in new[] { 0x1000, 0x1001, 0x1100, 0x1200, 0x2200, 0x0000 })
            {
                server.FailNext(code, 1, "fz.t");
                await RunAsync("SELECT n FROM fz.t WHERE k = ?", false, "p");
            }

            await RunAsync("SELEKT nonsense", false);
            await foreach (var _ in cluster.QueryAsync(new CqlStatement("SELECT id FROM fz.t WHERE k = ?", ["p"], CassandraConsistency.One, Prepare: false) { PageSize = 1 }))
            {
            }
        }

        _recorded = [.. server.SentFrames.DistinctBy(Convert.ToHexString)];
        Assert.That(_recorded, Has.Count.GreaterThan(15), "a varied corpus of valid frames");
    }

    [Test]
    public void Parse_50000MutatedFrames_ResponseOrProtocolErrorWithBoundedAllocation()
    {
        var random = new Random(Seed);
        var outcomes = new Dictionary<string, int>();
        var stopwatch = Stopwatch.StartNew();
        for (var n = 0; n < 50_000; n++)
        {
            var (bytes, mutations) = CqlFrameMutator.Mutate(_recorded[random.Next(_recorded.Count)], random);
            if (bytes.Length < CqlFrameHeader.Size)
            {
                continue;
            }

            var header = CqlFrameHeader.Read(bytes);
            var body = bytes.AsSpan(CqlFrameHeader.Size);
            if (header.Length < 0 || header.Length > body.Length)
            {
                continue; // the read loop would wait for more bytes, or refuse the header: the connection test covers it
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            string outcome;
            try
            {
                outcome = CqlResponse.Parse(header, body[..header.Length]).GetType().Name;
            }
            catch (CassandraProtocolException)
            {
                outcome = nameof(CassandraProtocolException);
            }
            catch (Exception ex)
            {
                Assert.Fail($"Seed {Seed}, case {n} ({mutations}): {ex.GetType().Name} escaped the parser: {ex.Message}\n{Convert.ToHexString(bytes)}");
                throw;
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.That(allocated, Is.LessThanOrEqualTo((16L * header.Length) + (256 * 1024)), $"Seed {Seed}, case {n} ({mutations}) allocated {allocated} bytes for a {header.Length}-byte body.");
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        TestContext.Out.WriteLine($"seed {Seed}: {stopwatch.Elapsed.TotalSeconds:F1} s; " + string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value}")));
        Assert.Multiple(() =>
        {
            Assert.That(outcomes.GetValueOrDefault(nameof(CassandraProtocolException)), Is.GreaterThan(1000), "many mutations are refused");
            Assert.That(outcomes.Keys.Count(k => k != nameof(CassandraProtocolException)), Is.GreaterThan(3), "some mutations still parse");
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task SendAsync_MutatedFramesFromALiveNode_EveryCaseEndsInTimeWithAResponseOrATypedError(CancellationToken cancellationToken)
    {
        // Each case: a new connection (the handshake answered right), one QUERY naming the case, and the mutated frame
        // as its answer, on the request's stream unless the mutation changed it.
        var mutated = new ConcurrentDictionary<int, (byte[] Bytes, string Mutations)>();
        var random = new Random(Seed + 1);
        for (var n = 0; n < ConnectionCases; n++)
        {
            mutated[n] = CqlFrameMutator.Mutate(_recorded[random.Next(_recorded.Count)], random);
        }

        await using var server = new CqlServerMock
        {
            RewriteResponse = (_, requestBody, frame) =>
            {
                var cql = Encoding.UTF8.GetString(requestBody, 4, BinaryPrimitives.ReadInt32BigEndian(requestBody));
                var (bytes, _) = mutated[int.Parse(cql["FUZZ ".Length..], System.Globalization.CultureInfo.InvariantCulture)];
                var answer = bytes.ToArray();
                if (answer.Length >= 4 && BinaryPrimitives.ReadInt16BigEndian(answer.AsSpan(2)) == 0)
                {
                    frame.AsSpan(2, 2).CopyTo(answer.AsSpan(2));
                }

                return answer;
            },
        };
        await server.StartAsync();
        var settings = new CqlClientSettings { ContactPoints = [server.ContactPoint], ConnectTimeout = TimeSpan.FromSeconds(10) };
        var unobserved = new ConcurrentQueue<Exception>();
        EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) =>
        {
            if (e.Exception.InnerExceptions.Any(ex => ex is not CassandraException and not OperationCanceledException and not IOException and not ObjectDisposedException and not System.Net.Sockets.SocketException))
            {
                unobserved.Enqueue(e.Exception);
            }
        };
        TaskScheduler.UnobservedTaskException += onUnobserved;
        var outcomes = new ConcurrentDictionary<string, int>();
        var slowest = TimeSpan.Zero;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, ConnectionCases), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (n, _) =>
            {
                var started = Stopwatch.GetTimestamp();
                string outcome;
                await using (var connection = await CqlConnection.OpenAsync("127.0.0.1", server.Port, settings, NullLogger.Instance, CancellationToken.None))
                {
                    try
                    {
                        var response = await connection.SendAsync(new QueryRequest($"FUZZ {n}", new CqlQueryParameters(CassandraConsistency.One)), null, RequestTimeout, CancellationToken.None);
                        outcome = response.GetType().Name;
                    }
                    catch (CassandraException ex)
                    {
                        outcome = ex.GetType().Name;
                    }
                    catch (Exception ex)
                    {
                        Assert.Fail($"Seed {Seed}, case {n} ({mutated[n].Mutations}): {ex.GetType().Name}: {ex.Message}\n{Convert.ToHexString(mutated[n].Bytes)}");
                        throw;
                    }
                }

                var elapsed = Stopwatch.GetElapsedTime(started);
                Assert.That(elapsed, Is.LessThan(RequestTimeout + TimeSpan.FromSeconds(10)), $"Seed {Seed}, case {n} ({mutated[n].Mutations}) took {elapsed}.");
                lock (outcomes)
                {
                    slowest = elapsed > slowest ? elapsed : slowest;
                }

                outcomes.AddOrUpdate(outcome, 1, (_, c) => c + 1);
            });

            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= onUnobserved;
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        TestContext.Out.WriteLine($"seed {Seed}: {ConnectionCases} cases in {stopwatch.Elapsed.TotalSeconds:F1} s, slowest {slowest.TotalMilliseconds:F0} ms, "
            + $"{allocated / ConnectionCases / 1024} KiB allocated per case; " + string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value}")));
        Assert.Multiple(() =>
        {
            Assert.That(outcomes.Values.Sum(), Is.EqualTo(ConnectionCases));
            Assert.That(unobserved, Is.Empty, "no background task failed with an untyped exception");
            Assert.That(allocated / ConnectionCases, Is.LessThan(1024 * 1024), "no case allocates for lengths it was merely told");
            Assert.That(outcomes.Keys, Does.Contain(nameof(CassandraProtocolException)).And.Contain(nameof(CassandraConnectionException)));
        });
    }
}
