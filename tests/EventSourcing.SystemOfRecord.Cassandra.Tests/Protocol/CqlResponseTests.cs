using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

// Response bodies worked out from the spec, sections 4.2 (responses) and 9 (error codes).
public sealed class CqlResponseTests
{
    private static CqlResponse Parse(CqlOpcode opcode, string bodyHex, byte flags = 0, CqlResultMetadata? known = null)
    {
        var body = Hex.Bytes(bodyHex);
        return CqlResponse.Parse(new CqlFrameHeader(CqlFrameHeader.ResponseVersion, flags, 1, opcode, body.Length), body, known);
    }

    private static string Str(string text) => $"{System.Text.Encoding.UTF8.GetByteCount(text):X4}{Hex.Utf8(text)}";

    [Test]
    public void Parse_Ready_EmptyBody()
    {
        Assert.That(Parse(CqlOpcode.Ready, string.Empty), Is.InstanceOf<ReadyResponse>());
    }

    [Test]
    public void Parse_Authenticate_AuthenticatorClass()
    {
        var response = (AuthenticateResponse)Parse(CqlOpcode.Authenticate, Str("org.apache.cassandra.auth.PasswordAuthenticator"));

        Assert.That(response.Authenticator, Is.EqualTo("org.apache.cassandra.auth.PasswordAuthenticator"));
    }

    [Test]
    public void Parse_Supported_StringMultimap()
    {
        var response = (SupportedResponse)Parse(CqlOpcode.Supported, "0001" + Str("CQL_VERSION") + "0002" + Str("3.0.0") + Str("3.4.5"));

        Assert.That(response.Options["CQL_VERSION"], Is.EqualTo(new[] { "3.0.0", "3.4.5" }));
    }

    [Test]
    public void Parse_AuthSuccessWithNullToken_NullToken()
    {
        Assert.That(((AuthSuccessResponse)Parse(CqlOpcode.AuthSuccess, "FFFFFFFF")).Token, Is.Null);
    }

    [Test]
    public void Parse_WarningFlag_WarningsBeforeBody()
    {
        var response = Parse(CqlOpcode.Result, "0001" + Str("Aggregation query used without partition key") + "00000001", flags: CqlFrameHeader.FlagWarning);

        Assert.Multiple(() =>
        {
            Assert.That(response, Is.InstanceOf<VoidResult>());
            Assert.That(response.Warnings, Is.EqualTo(new[] { "Aggregation query used without partition key" }));
        });
    }

    [Test]
    public void Parse_TracingFlag_SkipsTracingId()
    {
        var response = Parse(CqlOpcode.Result, "00112233445566778899AABBCCDDEEFF" + "00000003" + Str("ks"), flags: CqlFrameHeader.FlagTracing);

        Assert.That(((SetKeyspaceResult)response).Keyspace, Is.EqualTo("ks"));
    }

    [Test]
    public void Parse_RowsWithGlobalSpecAndPagingState_DecodesRowsAndState()
    {
        // kind 2; flags global(1)|more pages(2); 2 columns; paging state; ks, table; (id int), (name text); 2 rows.
        var body = "00000002" + "00000003" + "00000002" + "00000002 0A0B" + Str("ks") + Str("t")
            + Str("id") + "0009" + Str("name") + "000D"
            + "00000002"
            + "00000004 00000001" + "00000001 61"
            + "00000004 00000002" + "FFFFFFFF";

        var rows = (RowsResult)Parse(CqlOpcode.Result, body);

        Assert.Multiple(() =>
        {
            Assert.That(rows.Metadata.PagingState, Is.EqualTo(new byte[] { 0x0A, 0x0B }));
            Assert.That(rows.Metadata.Columns.Select(c => $"{c.Keyspace}.{c.Table}.{c.Name}"), Is.EqualTo(new[] { "ks.t.id", "ks.t.name" }));
            Assert.That(rows.Rows, Has.Count.EqualTo(2));
            Assert.That(rows.Rows[0]["id"], Is.EqualTo(1));
            Assert.That(rows.Rows[0]["name"], Is.EqualTo("a"));
            Assert.That(rows.Rows[1]["name"], Is.Null);
        });
    }

    [Test]
    public void Parse_RowsWithoutMetadata_UsesKnownMetadata()
    {
        var known = new CqlResultMetadata([new CqlColumn("ks", "t", "n", CqlDataType.Bigint)], null);

        var rows = (RowsResult)Parse(CqlOpcode.Result, "00000002" + "00000004" + "00000001" + "00000001" + "00000008 0000000000000009", known: known);

        Assert.That(rows.Rows[0]["n"], Is.EqualTo(9L));
    }

    [Test]
    public void Parse_Prepared_IdVariablesPartitionKeyAndResultMetadata()
    {
        // kind 4; id; metadata: flags global, 2 vars, 1 pk index (0), ks, t, (a timestamp), (b timeuuid); result metadata: no metadata, 0 columns.
        var body = "00000004" + "0002 BEEF" + "00000001" + "00000002" + "00000001" + "0000" + Str("ks") + Str("t")
            + Str("a") + "000B" + Str("b") + "000F" + "00000004" + "00000000";

        var prepared = (PreparedResult)Parse(CqlOpcode.Result, body);

        Assert.Multiple(() =>
        {
            Assert.That(prepared.Id, Is.EqualTo(new byte[] { 0xBE, 0xEF }));
            Assert.That(prepared.Variables.Select(v => v.Type.Code), Is.EqualTo(new[] { CqlTypeCode.Timestamp, CqlTypeCode.Timeuuid }));
            Assert.That(prepared.PartitionKeyIndexes, Is.EqualTo(new[] { 0 }));
            Assert.That(prepared.ResultMetadata.Columns, Is.Empty);
        });
    }

    [Test]
    public void Parse_SchemaChangeOfTable_TypeTargetKeyspaceName()
    {
        var change = (SchemaChangeResult)Parse(CqlOpcode.Result, "00000005" + Str("CREATED") + Str("TABLE") + Str("ks") + Str("events"));

        Assert.That((change.ChangeType, change.Target, change.Keyspace, change.Name), Is.EqualTo(("CREATED", "TABLE", "ks", "events")));
    }

    [Test]
    public void Parse_UnavailableError_TypedWithFields()
    {
        var error = (ErrorResponse)Parse(CqlOpcode.Error, "00001000" + Str("Cannot achieve consistency") + "0006" + "00000002" + "00000001");

        var ex = (CassandraUnavailableException)error.Exception;
        Assert.Multiple(() =>
        {
            Assert.That((ex.Consistency, ex.Required, ex.Alive), Is.EqualTo((CassandraConsistency.LocalQuorum, 2, 1)));
            Assert.That(ex.IsTransient, Is.True);
            Assert.That(ex.ErrorCode, Is.EqualTo(0x1000));
        });
    }

    [Test]
    public void Parse_WriteTimeoutError_TypedWithWriteType()
    {
        var error = (ErrorResponse)Parse(CqlOpcode.Error, "00001100" + Str("timed out") + "0004" + "00000001" + "00000002" + Str("UNLOGGED_BATCH"));

        var ex = (CassandraWriteTimeoutException)error.Exception;
        Assert.That((ex.Consistency, ex.Received, ex.BlockFor, ex.WriteType, ex.IsTransient), Is.EqualTo((CassandraConsistency.Quorum, 1, 2, "UNLOGGED_BATCH", true)));
    }

    [Test]
    public void Parse_ReadTimeoutError_TypedWithDataPresent()
    {
        var ex = (CassandraReadTimeoutException)((ErrorResponse)Parse(CqlOpcode.Error, "00001200" + Str("timed out") + "0001" + "00000000" + "00000001" + "01")).Exception;

        Assert.That((ex.Consistency, ex.Received, ex.BlockFor, ex.DataPresent, ex.IsTransient), Is.EqualTo((CassandraConsistency.One, 0, 1, true, true)));
    }

    [Test]
    public void Parse_UnpreparedError_CarriesStatementId()
    {
        var ex = (CassandraUnpreparedException)((ErrorResponse)Parse(CqlOpcode.Error, "00002500" + Str("unknown") + "0002 CAFE")).Exception;

        Assert.That(ex.StatementId, Is.EqualTo(new byte[] { 0xCA, 0xFE }));
    }

    [TestCase(0x1001, typeof(CassandraOverloadedException), true)]
    [TestCase(0x1002, typeof(CassandraBootstrappingException), true)]
    [TestCase(0x2000, typeof(CassandraSyntaxException), false)]
    [TestCase(0x2200, typeof(CassandraInvalidQueryException), false)]
    [TestCase(0x2100, typeof(CassandraUnauthorizedException), false)]
    [TestCase(0x0100, typeof(CassandraAuthenticationException), false)]
    [TestCase(0x0000, typeof(CassandraServerException), false)]
    public void Parse_ErrorWithoutExtraFields_TypedAndTransientAsDocumented(int code, Type expected, bool transient)
    {
        var ex = ((ErrorResponse)Parse(CqlOpcode.Error, $"{code:X8}" + Str("message text"))).Exception;

        Assert.Multiple(() =>
        {
            Assert.That(ex, Is.InstanceOf(expected));
            Assert.That(ex.IsTransient, Is.EqualTo(transient));
            Assert.That(ex.Message, Does.Contain("message text"));
        });
    }

    [Test]
    public void Parse_TruncatedBody_ThrowsProtocolException()
    {
        Assert.That(() => Parse(CqlOpcode.Result, "000000"), Throws.InstanceOf<CassandraProtocolException>());
    }

    [Test]
    public void Parse_25BytesDeclaringTenMillionRows_ProtocolErrorWithoutAllocatingThem()
    {
        // kind rows; flags global; 1 column; ks "", table "", column "a" of type int; then a row count of 10 000 000.
        var body = Hex.Bytes("00000002 00000001 00000001 0000 0000 0001 61 0009 00989680");
        Assert.That(body, Has.Length.EqualTo(25));
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.That(
            () => CqlResponse.Parse(new CqlFrameHeader(CqlFrameHeader.ResponseVersion, 0, 1, CqlOpcode.Result, body.Length), body),
            Throws.InstanceOf<CassandraProtocolException>().With.Message.Contains("10000000 rows"));

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1024 * 1024), "nothing is allocated for rows that cannot be there");
    }

    [TestCase("7FFFFFFF")]
    [TestCase("80000000")]
    public void Parse_RowCountIntMaxOrNegative_ProtocolError(string count)
    {
        Assert.That(() => Parse(CqlOpcode.Result, "00000002 00000001 00000001 0000 0000 0001 61 0009 " + count), Throws.InstanceOf<CassandraProtocolException>());
    }

    [Test]
    public void Parse_RowsButNoColumns_ProtocolError()
    {
        Assert.That(() => Parse(CqlOpcode.Result, "00000002 00000001 00000000 0000 0000 00000005"), Throws.InstanceOf<CassandraProtocolException>());
    }

    [Test]
    public void Parse_ColumnCountIntMax_ProtocolErrorWithoutAllocatingThem()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.That(() => Parse(CqlOpcode.Result, "00000002 00000001 7FFFFFFF 0000 0000"), Throws.InstanceOf<CassandraProtocolException>());

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1024 * 1024));
    }

    [Test]
    public void Parse_PreparedWithPartitionKeyCountIntMax_ProtocolError()
    {
        Assert.That(() => Parse(CqlOpcode.Result, "00000004 0002 BEEF 00000000 00000000 7FFFFFFF"), Throws.InstanceOf<CassandraProtocolException>());
    }

    [Test]
    public void Parse_CustomPayloadWithMoreEntriesThanBytes_ProtocolError()
    {
        Assert.That(() => Parse(CqlOpcode.Ready, "FFFF", flags: CqlFrameHeader.FlagCustomPayload), Throws.InstanceOf<CassandraProtocolException>());
    }

    [Test]
    public void Parse_RowsMeasureTheirLargestRow()
    {
        var rows = (RowsResult)Parse(CqlOpcode.Result, "00000002 00000001 00000001 0000 0000 0001 61 000D 00000002 00000001 61 00000003 626364");

        Assert.That(rows.LargestRowBytes, Is.EqualTo(7));
    }

    [TestCase("00001100" + "0009 74696D6564206F7574" + "0004 00000001 00000002 0006 53494D504C45", true, TestName = "Parse_WriteTimeout_MayHaveBeenApplied")]
    [TestCase("00001500" + "0004 6661696C", true, TestName = "Parse_WriteFailure_MayHaveBeenApplied")]
    [TestCase("00000000" + "0004 6661696C", true, TestName = "Parse_ServerError_MayHaveBeenApplied")]
    [TestCase("00001000" + "0004 6661696C" + "0006 00000002 00000001", false, TestName = "Parse_Unavailable_NotApplied")]
    [TestCase("00001001" + "0004 6661696C", false, TestName = "Parse_Overloaded_NotApplied")]
    public void Parse_Error_SaysWhetherTheWriteMayHaveBeenApplied(string bodyHex, bool mayHaveBeenApplied)
    {
        var ex = ((ErrorResponse)Parse(CqlOpcode.Error, bodyHex)).Exception;

        Assert.Multiple(() =>
        {
            Assert.That(ex.MayHaveBeenApplied, Is.EqualTo(mayHaveBeenApplied));
            Assert.That(ex, Is.InstanceOf<SystemOfRecordException>(), "one error model: every Cassandra error is a SystemOfRecordException");
        });
    }
}
