using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Client;

public sealed class CqlConnectionTests
{
    private static readonly QueryRequest LocalQuery = new("SELECT key FROM system.local WHERE key='local'", new CqlQueryParameters(CassandraConsistency.One));

    /// <summary>A RESULT frame of one row, one column of <paramref name="typeHex"/> holding <paramref name="valueHex"/>, on the stream of <paramref name="original"/>.</summary>
    internal static byte[] RowFrame(byte[] original, string typeHex, string valueHex)
    {
        var value = Convert.FromHexString(valueHex);
        var body = new CqlWriteBuffer();
        body.WriteInt(2);
        body.WriteInt(1);
        body.WriteInt(1);
        body.WriteString("ks");
        body.WriteString("t");
        body.WriteString("c");
        body.WriteRaw(Convert.FromHexString(typeHex));
        body.WriteInt(1);
        body.WriteBytes(value);
        var frame = new byte[CqlFrameHeader.Size + body.Length];
        original.AsSpan(0, 5).CopyTo(frame);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), body.Length);
        body.WrittenSpan.CopyTo(frame.AsSpan(CqlFrameHeader.Size));
        return frame;
    }

    [TestCase("000B", "7FFFFFFFFFFFFFFF", TestName = "SendAsync_TimestampOutOfRange_ProtocolErrorAndConnectionBroken")]
    [TestCase("0010", "0102030405", TestName = "SendAsync_InetOfFiveBytes_ProtocolErrorAndConnectionBroken")]
    [TestCase("000F", "00112233445566778899AABBCCDDEEFF", TestName = "SendAsync_TimeuuidNotVersionOne_ProtocolErrorAndConnectionBroken")]
    public async Task SendAsync_ValueThatDoesNotDecode_ProtocolErrorAndConnectionBroken(string typeHex, string valueHex)
    {
        await using var server = new CqlServerMock { RewriteResponse = (_, _, frame) => RowFrame(frame, typeHex, valueHex) };
        await server.StartAsync();
        await using var connection = await CqlConnection.OpenAsync("127.0.0.1", server.Port, new CqlClientSettings { ContactPoints = [server.ContactPoint] }, NullLogger.Instance, CancellationToken.None);

        var started = DateTime.UtcNow;
        Assert.That(async () => await connection.SendAsync(LocalQuery, null, TimeSpan.FromSeconds(30), CancellationToken.None), Throws.InstanceOf<CassandraProtocolException>());

        Assert.Multiple(() =>
        {
            Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(10)), "failed at once, not at the request timeout");
            Assert.That(connection.IsBroken, Is.True, "a node that sends what cannot be read is not trusted further");
        });
    }

    [Test]
    public async Task SendAsync_ColumnTypeNested50000Deep_ProtocolErrorAndConnectionBroken()
    {
        var type = string.Concat(Enumerable.Repeat("0020", 50_000)) + "000D";
        await using var server = new CqlServerMock { RewriteResponse = (_, _, frame) => RowFrame(frame, type, "00000000") };
        await server.StartAsync();
        await using var connection = await CqlConnection.OpenAsync("127.0.0.1", server.Port, new CqlClientSettings { ContactPoints = [server.ContactPoint] }, NullLogger.Instance, CancellationToken.None);

        Assert.That(async () => await connection.SendAsync(LocalQuery, null, TimeSpan.FromSeconds(30), CancellationToken.None), Throws.InstanceOf<CassandraProtocolException>());
        Assert.That(connection.IsBroken, Is.True);
    }

    [Test]
    public async Task SendAsync_FrameOverTheLimit_NotTransientAndConnectionBroken()
    {
        await using var server = new CqlServerMock { RewriteResponse = (_, _, frame) => RowFrame(frame, "000D", Convert.ToHexString(new byte[4096])) };
        await server.StartAsync();
        var settings = new CqlClientSettings { ContactPoints = [server.ContactPoint], MaxFrameBodyBytes = 1024 };
        await using var connection = await CqlConnection.OpenAsync("127.0.0.1", server.Port, settings, NullLogger.Instance, CancellationToken.None);

        var ex = Assert.ThrowsAsync<CassandraProtocolException>(async () => await connection.SendAsync(LocalQuery, null, TimeSpan.FromSeconds(30), CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.IsTransient, Is.False, "the same page would be just as large on any node");
            Assert.That(ex.OversizedResponseBytes, Is.GreaterThan(4096));
            Assert.That(ex.Message, Does.Contain("limit is 1024"));
            Assert.That(connection.IsBroken, Is.True);
        });
    }

    [Test]
    public async Task SendAsync_AnswerOnStreamNobodyAskedFor_ConnectionBrokenWithTypedError()
    {
        await using var server = new CqlServerMock
        {
            RewriteResponse = (_, _, frame) =>
            {
                frame[3] ^= 0x40; // another stream id
                return frame;
            },
        };
        await server.StartAsync();
        await using var connection = await CqlConnection.OpenAsync("127.0.0.1", server.Port, new CqlClientSettings { ContactPoints = [server.ContactPoint] }, NullLogger.Instance, CancellationToken.None);

        var ex = Assert.ThrowsAsync<CassandraConnectionException>(async () => await connection.SendAsync(LocalQuery, null, TimeSpan.FromSeconds(30), CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.InnerException, Is.InstanceOf<CassandraProtocolException>().With.Message.Contains("no request waiting"));
            Assert.That(connection.IsBroken, Is.True);
        });
    }

    [Test]
    public async Task SendAsync_LargeFrameArrivingInPieces_Read()
    {
        var text = new string('x', 1_000_000);
        await using var server = new CqlServerMock { RewriteResponse = (_, _, frame) => RowFrame(frame, "000D", Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(text))) };
        await server.StartAsync();
        await using var connection = await CqlConnection.OpenAsync("127.0.0.1", server.Port, new CqlClientSettings { ContactPoints = [server.ContactPoint] }, NullLogger.Instance, CancellationToken.None);

        var rows = (RowsResult)await connection.SendAsync(LocalQuery, null, TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.That(rows.Rows[0]["c"], Is.EqualTo(text));
    }
}
