namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Protocol;

/// <summary>Byte sequences written as spaced hex ("04 00 00 01"), and strings as their UTF-8 hex, for expected frames.</summary>
internal static class Hex
{
    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    public static string Utf8(string text) => Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Joins hex pieces into the uppercase, unspaced form <see cref="Of"/> returns.</summary>
    public static string Join(params string[] pieces) => string.Concat(pieces).Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
}
