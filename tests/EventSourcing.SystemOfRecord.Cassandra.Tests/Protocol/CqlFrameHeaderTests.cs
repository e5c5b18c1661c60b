using EventSourcing.SystemOfRecord.Cassandra.Protocol;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

// Spec section 2: version (1 byte), flags (1), stream (2, signed), opcode (1), length (4), big-endian.
public sealed class CqlFrameHeaderTests
{
    [Test]
    public void Write_QueryRequest_NineBytesBigEndian()
    {
        var bytes = new byte[CqlFrameHeader.Size];

        new CqlFrameHeader(CqlFrameHeader.RequestVersion, 0, 0x0102, CqlOpcode.Query, 0x10).Write(bytes);

        Assert.That(Hex.Of(bytes), Is.EqualTo(Hex.Join("04 00 0102 07 00000010")));
    }

    [Test]
    public void Read_ResponseWithNegativeStreamAndWarningFlag_DecodesEveryField()
    {
        var header = CqlFrameHeader.Read(Hex.Bytes("84 08 FFFF 0C 00000123"));

        Assert.Multiple(() =>
        {
            Assert.That(header.Version, Is.EqualTo(0x84));
            Assert.That(header.Flags, Is.EqualTo(CqlFrameHeader.FlagWarning));
            Assert.That(header.Stream, Is.EqualTo(-1));
            Assert.That(header.Opcode, Is.EqualTo(CqlOpcode.Event));
            Assert.That(header.Length, Is.EqualTo(0x123));
        });
    }
}
