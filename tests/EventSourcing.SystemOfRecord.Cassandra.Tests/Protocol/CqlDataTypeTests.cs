using EventSourcing.SystemOfRecord.Cassandra.Protocol;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

// [option] type ids (spec 4.2.5.2) and value decoding (spec 6).
public sealed class CqlDataTypeTests
{
    [Test]
    public void Read_MapOfTextToText_NestedOptions()
    {
        var reader = new CqlReadBuffer(Hex.Bytes("0021 000D 000D"));

        var type = CqlDataType.Read(ref reader);

        Assert.That(type, Is.EqualTo(CqlDataType.TextMap));
    }

    [Test]
    public void Write_SetOfText_CodeThenElement()
    {
        var buffer = new CqlWriteBuffer();

        CqlDataType.TextSet.Write(buffer);

        Assert.That(Hex.Of(buffer.WrittenSpan), Is.EqualTo("0022000D"));
    }

    [Test]
    public void Read_CustomType_KeepsClassName()
    {
        var reader = new CqlReadBuffer(Hex.Bytes("0000 0003" + Hex.Utf8("a.B")));

        Assert.That(CqlDataType.Read(ref reader).CustomClass, Is.EqualTo("a.B"));
    }

    private static IEnumerable<TestCaseData> Decoded()
    {
        yield return new TestCaseData(CqlDataType.Timestamp, "0000018DF9E2B200", new DateTime(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc)).SetName("Decode_Timestamp_UtcDateTime");
        yield return new TestCaseData(CqlDataType.Timeuuid, "138140001DD211B28080808080808080", TimeUuid.Parse("13814000-1dd2-11b2-8080-808080808080")).SetName("Decode_Timeuuid_TimeUuid");
        yield return new TestCaseData(CqlDataType.Uuid, "00112233445566778899AABBCCDDEEFF", Guid.Parse("00112233-4455-6677-8899-aabbccddeeff")).SetName("Decode_Uuid_Guid");
        yield return new TestCaseData(CqlDataType.Text, "C3A9", "é").SetName("Decode_Text_String");
        yield return new TestCaseData(CqlDataType.Bigint, "FFFFFFFFFFFFFFFE", -2L).SetName("Decode_Bigint_Long");
        yield return new TestCaseData(CqlDataType.Int, "00000102", 258).SetName("Decode_Int_Int");
        yield return new TestCaseData(CqlDataType.Boolean, "00", false).SetName("Decode_Boolean_Bool");
        yield return new TestCaseData(CqlDataType.Inet, "7F000001", System.Net.IPAddress.Loopback).SetName("Decode_Inet_IPAddress");
    }

    [TestCaseSource(nameof(Decoded))]
    public void Decode(object type, string hex, object expected)
    {
        Assert.That(((CqlDataType)type).Decode(Hex.Bytes(hex)), Is.EqualTo(expected));
    }

    [Test]
    public void Decode_TextMap_Dictionary()
    {
        var map = (Dictionary<object, object?>)CqlDataType.TextMap.Decode(Hex.Bytes("00000002 00000001 61 00000001 62 00000001 63 00000000"));

        Assert.That(map, Is.EquivalentTo(new Dictionary<object, object?> { ["a"] = "b", ["c"] = string.Empty }));
    }

    [Test]
    public void Read_Nested50000LevelsDeep_ProtocolErrorNotStackOverflow()
    {
        var bytes = new byte[(50_000 * 2) + 2];
        for (var i = 0; i < 50_000; i++)
        {
            bytes[(i * 2) + 1] = 0x20; // list<...
        }

        bytes[^1] = 0x0D; // ...text>

        Assert.That(() =>
        {
            var reader = new CqlReadBuffer(bytes);
            CqlDataType.Read(ref reader);
        }, Throws.InstanceOf<CassandraProtocolException>().With.Message.Contains("16 levels"));
    }

    [Test]
    public void Read_NestedAtTheLimit_Read()
    {
        var hex = string.Concat(Enumerable.Repeat("0020", CqlDataType.MaxDepth)) + "000D";
        var reader = new CqlReadBuffer(Hex.Bytes(hex));

        var type = CqlDataType.Read(ref reader);

        Assert.That(type.Code, Is.EqualTo(CqlTypeCode.List));
    }

    [Test]
    public void Read_UdtWithMoreFieldsThanBytes_ProtocolError()
    {
        Assert.That(() =>
        {
            var reader = new CqlReadBuffer(Hex.Bytes("0030 0000 0000 FFFF 0000"));
            CqlDataType.Read(ref reader);
        }, Throws.InstanceOf<CassandraProtocolException>());
    }

    [TestCase("7FFFFFFFFFFFFFFF")]
    [TestCase("8000000000000000")]
    [TestCase("0000E677D21FDC00")] // 10000-01-01T00:00:00Z, one millisecond past DateTime.MaxValue
    public void Decode_TimestampOutsideDateTime_ProtocolError(string hex)
    {
        Assert.That(() => CqlDataType.Timestamp.Decode(Hex.Bytes(hex)), Throws.InstanceOf<CassandraProtocolException>().With.Message.Contains("outside"));
    }

    [Test]
    public void Decode_TimestampAtTheEdges_Decoded()
    {
        Assert.Multiple(() =>
        {
            Assert.That(CqlDataType.Timestamp.Decode(Hex.Bytes("FFFFC77CEDD32800")), Is.EqualTo(DateTime.MinValue));
            Assert.That(CqlDataType.Timestamp.Decode(Hex.Bytes("0000E677D21FDBFF")), Is.EqualTo(new DateTime(9999, 12, 31, 23, 59, 59, 999, DateTimeKind.Utc)));
        });
    }

    [TestCase("")]
    [TestCase("7F0000")]
    [TestCase("7F00000100")]
    public void Decode_InetOfWrongLength_ProtocolError(string hex)
    {
        Assert.That(() => CqlDataType.Inet.Decode(Hex.Bytes(hex)), Throws.InstanceOf<CassandraProtocolException>());
    }

    [Test]
    public void Decode_TimeuuidNotVersionOne_ProtocolError()
    {
        Assert.That(() => CqlDataType.Timeuuid.Decode(Hex.Bytes("00112233445566778899AABBCCDDEEFF")), Throws.InstanceOf<CassandraProtocolException>());
    }

    [Test]
    public void Decode_MapDeclaringMoreEntriesThanBytes_ProtocolErrorWithoutAllocatingThem()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.That(() => CqlDataType.TextMap.Decode(Hex.Bytes("7FFFFFFF 00000001 61")), Throws.InstanceOf<CassandraProtocolException>());

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1024 * 1024));
    }

    [Test]
    public void Decode_WrongLength_ThrowsProtocolException()
    {
        Assert.That(() => CqlDataType.Bigint.Decode(Hex.Bytes("0001")), Throws.InstanceOf<CassandraProtocolException>());
    }
}
