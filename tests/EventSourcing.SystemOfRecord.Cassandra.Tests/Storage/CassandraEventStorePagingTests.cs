using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Storage;

/// <summary>Bucket reads size their pages by bytes, so a bucket of large events never needs a frame over the limit.</summary>
public sealed class CassandraEventStorePagingTests
{
    private static readonly DateTime Bucket = new(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    [Test]
    [CancelAfter(180_000)]
    public async Task ReadBucketAsync_5000EventsOf1MiB_EveryEventReadInPagesUnderTheLimit(CancellationToken cancellationToken)
    {
        const int count = 5000;
        await using var server = new CqlServerMock();
        await server.StartAsync();
        await using var store = new CassandraEventStore(Options.Create(new CassandraStoreOptions { ContactPoints = [server.ContactPoint], Keyspace = "sor" }));
        await store.EnsureCreatedAsync(TimeSpan.FromSeconds(15), cancellationToken);

        // 5 000 rows written straight into the test server's table, all sharing one 1 MiB message (5 GB to read, ~1 MiB held).
        var message = System.Text.Encoding.UTF8.GetBytes(new string('m', 1024 * 1024));
        var insert = CqlTestStatement.Parse("INSERT INTO sor.events (time_bucket, event_id, ts, message, topic) VALUES (?, ?, ?, ?, ?)", null, server.Database);
        var bucket = Timestamp(Bucket);
        var topic = System.Text.Encoding.UTF8.GetBytes("events");
        var ids = new List<TimeUuid>(count);
        for (var i = 0; i < count; i++)
        {
            var time = new DateTimeOffset(Bucket.AddTicks(i * 20_000L));
            var id = TimeUuid.Create(time);
            ids.Add(id);
            server.Database.Insert(insert, [bucket, id.ToByteArray(), Timestamp(time.UtcDateTime), message, topic]);
        }

        var read = 0;
        var inOrder = true;
        TimeUuid? previous = null;
        await foreach (var e in store.ReadBucketAsync(Bucket, cancellationToken))
        {
            inOrder &= e.EventId == ids[read] && e.Message.Length == message.Length && (previous is null || previous.Value.CompareTo(e.EventId) < 0);
            previous = e.EventId;
            read++;
        }

        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo(count));
            Assert.That(inOrder, Is.True);
            Assert.That(server.RequestCount("Startup") - server.RequestCount("Register"), Is.EqualTo(1), "no page came back over the frame limit (the control connection aside)");
            Assert.That(server.RequestCount("Execute"), Is.GreaterThan(count * 1024L * 1024 / (17 * 1024 * 1024)), "pages of about 16 MiB, not 5000 rows");
        });
    }

    private static byte[] Timestamp(DateTime time)
    {
        var bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes, new DateTimeOffset(time).ToUnixTimeMilliseconds());
        return bytes;
    }
}
