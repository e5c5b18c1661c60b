using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

// Expected frames worked out by hand from the spec, sections 3 (notation) and 4.1 (requests).
public sealed class CqlRequestTests
{
    [Test]
    public void ToFrame_Options_HeaderOnlyWithOpcode05()
    {
        Assert.That(Hex.Of(OptionsRequest.Instance.ToFrame().WrittenSpan), Is.EqualTo(Hex.Join("04 00 0000 05 00000000")));
    }

    [Test]
    public void ToFrame_Startup_StringMapBody()
    {
        var frame = new StartupRequest(new Dictionary<string, string> { ["CQL_VERSION"] = "3.0.0" }).ToFrame();

        // [string map]: n=1, [string] "CQL_VERSION" (11 bytes), [string] "3.0.0" (5 bytes): 22 bytes.
        Assert.That(Hex.Of(frame.WrittenSpan), Is.EqualTo(Hex.Join("04 00 0000 01 00000016", "0001", "000B", Hex.Utf8("CQL_VERSION"), "0005", Hex.Utf8("3.0.0"))));
    }

    [Test]
    public void ToFrame_AuthResponsePlain_NulUserNulPasswordAsBytes()
    {
        var frame = AuthResponseRequest.PlainText("cassandra", "pässword").ToFrame();

        // SASL PLAIN: \0 user \0 password; "pässword" is 9 UTF-8 bytes, so 1 + 9 + 1 + 9 = 20 bytes of token.
        Assert.That(Hex.Of(frame.WrittenSpan), Is.EqualTo(Hex.Join("04 00 0000 0F 00000018", "00000014", "00", Hex.Utf8("cassandra"), "00", Hex.Utf8("pässword"))));
    }

    [Test]
    public void ToFrame_QueryWithoutParameters_LongStringConsistencyAndZeroFlags()
    {
        var frame = new QueryRequest("SELECT 1", new CqlQueryParameters(CassandraConsistency.One)).ToFrame();

        Assert.That(Hex.Of(frame.WrittenSpan), Is.EqualTo(Hex.Join("04 00 0000 07 0000000F", "00000008", Hex.Utf8("SELECT 1"), "0001", "00")));
    }

    [Test]
    public void Write_QueryParametersWithEveryFlag_FieldsInSpecOrder()
    {
        var buffer = new CqlWriteBuffer();
        var parameters = new CqlQueryParameters(
            CassandraConsistency.LocalQuorum,
            Values: [42, null],
            SkipMetadata: true,
            PageSize: 5000,
            PagingState: [0xAB, 0xCD],
            SerialConsistency: CassandraConsistency.LocalSerial,
            DefaultTimestamp: 0x0102030405060708);

        parameters.Write(buffer);

        // flags: values 0x01 | skip metadata 0x02 | page size 0x04 | paging state 0x08 | serial 0x10 | timestamp 0x20 = 0x3F.
        Assert.That(Hex.Of(buffer.WrittenSpan), Is.EqualTo(Hex.Join(
            "0006", "3F",
            "0002", "00000004 0000002A", "FFFFFFFF",
            "00001388",
            "00000002 ABCD",
            "0009",
            "0102030405060708")));
    }

    [Test]
    public void ToFrame_Prepare_LongString()
    {
        var frame = new PrepareRequest("SELECT x FROM t").ToFrame();

        Assert.That(Hex.Of(frame.WrittenSpan), Is.EqualTo(Hex.Join("04 00 0000 09 00000013", "0000000F", Hex.Utf8("SELECT x FROM t"))));
    }

    [Test]
    public void ToFrame_Execute_ShortBytesIdThenParameters()
    {
        var frame = new ExecuteRequest([0xCA, 0xFE], new CqlQueryParameters(CassandraConsistency.Quorum, Values: ["a"])).ToFrame();

        Assert.That(Hex.Of(frame.WrittenSpan), Is.EqualTo(Hex.Join("04 00 0000 0A 0000000E", "0002 CAFE", "0004", "01", "0001", "00000001", Hex.Utf8("a"))));
    }

    [Test]
    public void ToFrame_UnloggedBatchOfOnePreparedAndOneQuery_SpecLayout()
    {
        var entries = new[]
        {
            new CqlBatchEntry(null, [0x01], [7L]),
            new CqlBatchEntry("X", null, []),
        };
        var frame = new BatchRequest(CqlBatchType.Unlogged, entries, CassandraConsistency.LocalQuorum, null, 5).ToFrame();

        // type 1, n 2; kind 1 + [short bytes] id + 1 value (bigint); kind 0 + [long string] + 0 values;
        // consistency, flags 0x20 (timestamp), timestamp: 3 + 18 + 8 + 11 = 40 bytes.
        Assert.That(Hex.Of(frame.WrittenSpan), Is.EqualTo(Hex.Join(
            "04 00 0000 0D 00000028",
            "01", "0002",
            "01", "0001 01", "0001", "00000008 0000000000000007",
            "00", "00000001", Hex.Utf8("X"), "0000",
            "0006", "20", "0000000000000005")));
    }

    [Test]
    public void ToFrame_Register_StringList()
    {
        var frame = new RegisterRequest(["SCHEMA_CHANGE"]).ToFrame();

        Assert.That(Hex.Of(frame.WrittenSpan), Is.EqualTo(Hex.Join("04 00 0000 0B 00000011", "0001", "000D", Hex.Utf8("SCHEMA_CHANGE"))));
    }
}
