using EventSourcing.SystemOfRecord.Cassandra.Protocol;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

// [value]s (spec 3): an [int] length then the serialization of section 6; -1 is null, -2 is "not set".
public sealed class CqlValueWriterTests
{
    private static IEnumerable<TestCaseData> Values()
    {
        yield return new TestCaseData(null, "FFFFFFFF").SetName("WriteValue_Null_MinusOne");
        yield return new TestCaseData(CqlUnset.Value, "FFFFFFFE").SetName("WriteValue_Unset_MinusTwo");
        yield return new TestCaseData("é", "00000002 C3A9").SetName("WriteValue_Text_Utf8");
        yield return new TestCaseData(string.Empty, "00000000").SetName("WriteValue_EmptyText_ZeroLength");
        yield return new TestCaseData(-2L, "00000008 FFFFFFFFFFFFFFFE").SetName("WriteValue_Bigint_TwosComplement");
        yield return new TestCaseData(258, "00000004 00000102").SetName("WriteValue_Int_FourBytes");
        yield return new TestCaseData(true, "00000001 01").SetName("WriteValue_Boolean_OneByte");
        yield return new TestCaseData(new byte[] { 0xDE, 0xAD }, "00000002 DEAD").SetName("WriteValue_Blob_Raw");
        yield return new TestCaseData(new DateTime(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc), "00000008 0000018DF9E2B200").SetName("WriteValue_Timestamp_MillisecondsSinceEpoch");
        yield return new TestCaseData(new DateTime(1969, 12, 31, 23, 59, 59, 999, DateTimeKind.Utc).AddTicks(5000), "00000008 FFFFFFFFFFFFFFFF").SetName("WriteValue_TimestampBeforeEpoch_FloorsToMillisecond");
        yield return new TestCaseData(TimeUuid.Parse("13814000-1dd2-11b2-8080-808080808080"), "00000010 138140001DD211B28080808080808080").SetName("WriteValue_TimeUuid_NetworkOrder");
        yield return new TestCaseData(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"), "00000010 00112233445566778899AABBCCDDEEFF").SetName("WriteValue_Uuid_NetworkOrderNotGuidLayout");
        yield return new TestCaseData(
                new Dictionary<string, string> { ["a"] = "b" },
                "0000000E 00000001 00000001 61 00000001 62")
            .SetName("WriteValue_TextMap_CountThenBytesPairs");
    }

    [TestCaseSource(nameof(Values))]
    public void WriteValue(object? value, string expectedHex)
    {
        var buffer = new CqlWriteBuffer();

        CqlValueWriter.WriteValue(buffer, value);

        Assert.That(Hex.Of(buffer.WrittenSpan), Is.EqualTo(Hex.Join(expectedHex)));
    }

    [Test]
    public void WriteValue_UnsupportedType_ThrowsNamingIt()
    {
        Assert.That(() => CqlValueWriter.WriteValue(new CqlWriteBuffer(), 1.5m), Throws.ArgumentException.With.Message.Contains("Decimal"));
    }
}
