using System.Buffers.Binary;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

// Spec section 5: an lz4 body is the uncompressed length as a big-endian [int], then one LZ4 block.
public sealed class CqlLz4Tests
{
    [Test]
    public void CompressFrame_Query_SetsFlagKeepsStreamAndOpcodeAndRoundTrips()
    {
        var frame = new QueryRequest("SELECT * FROM ks.t WHERE k = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'", new CqlQueryParameters(CassandraConsistency.LocalQuorum)).ToFrame();
        frame.SetStream(42);

        var compressed = CqlLz4.CompressFrame(frame.WrittenSpan).WrittenSpan.ToArray();
        var header = CqlFrameHeader.Read(compressed);
        var body = compressed[CqlFrameHeader.Size..];

        Assert.Multiple(() =>
        {
            Assert.That(header.Flags & CqlFrameHeader.FlagCompression, Is.EqualTo(CqlFrameHeader.FlagCompression));
            Assert.That((header.Stream, header.Opcode, header.Version), Is.EqualTo(((short)42, CqlOpcode.Query, CqlFrameHeader.RequestVersion)));
            Assert.That(header.Length, Is.EqualTo(body.Length));
            Assert.That(BinaryPrimitives.ReadInt32BigEndian(body), Is.EqualTo(frame.Length - CqlFrameHeader.Size), "the uncompressed length comes first");
            Assert.That(header.Length, Is.LessThan(frame.Length - CqlFrameHeader.Size), "the repeated 'a's compress");
            Assert.That(CqlLz4.Decompress(body), Is.EqualTo(frame.WrittenMemory[CqlFrameHeader.Size..].ToArray()));
        });
    }

    [Test]
    public void CompressFrame_EmptyBody_DecompressesToEmpty()
    {
        var compressed = CqlLz4.CompressFrame(OptionsRequest.Instance.ToFrame().WrittenSpan).WrittenSpan.ToArray();

        Assert.That(CqlLz4.Decompress(compressed.AsSpan(CqlFrameHeader.Size)), Is.Empty);
    }

    [TestCase("0000")]
    [TestCase("FFFFFFFF 00")]
    [TestCase("7FFFFFFF 1F61")]
    public void Decompress_ImpossibleLength_ProtocolException(string hex)
    {
        Assert.That(() => CqlLz4.Decompress(Hex.Bytes(hex)), Throws.InstanceOf<CassandraProtocolException>());
    }

    [Test]
    public void Decompress_OverTheGivenLimit_ProtocolExceptionBeforeDecoding()
    {
        var compressed = CqlLz4.CompressFrame(new QueryRequest(new string('x', 5000), new CqlQueryParameters(CassandraConsistency.One)).ToFrame().WrittenSpan).WrittenSpan.ToArray();

        Assert.That(() => CqlLz4.Decompress(compressed.AsSpan(CqlFrameHeader.Size), maxLength: 4096), Throws.InstanceOf<CassandraProtocolException>().With.Message.Contains("limit is 4096"));
    }

        [Test]
    public void Decompress_LengthDisagreesWithBlock_ProtocolException()
    {
        var compressed = CqlLz4.CompressFrame(new QueryRequest("SELECT 1", new CqlQueryParameters(CassandraConsistency.One)).ToFrame().WrittenSpan).WrittenSpan.ToArray();
        var body = compressed.AsSpan(CqlFrameHeader.Size).ToArray();
        BinaryPrimitives.WriteInt32BigEndian(body, BinaryPrimitives.ReadInt32BigEndian(body) + 5);

        Assert.That(() => CqlLz4.Decompress(body), Throws.InstanceOf<CassandraProtocolException>());
    }
}
