using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlConnection
{
    // Set before STARTUP goes out (its answer may already come compressed); requests are compressed once it is answered.
    private volatile bool _lz4Negotiated;
    private volatile bool _compressRequests;

    /// <summary>Whether this connection's frames are LZ4-compressed.</summary>
    public bool IsCompressed => _compressRequests;

    /// <summary>The STARTUP options: ours, plus COMPRESSION=lz4 when the settings ask for it and the node offers it.</summary>
    private Dictionary<string, string> NegotiateStartup(SupportedResponse supported, CqlClientSettings settings)
    {
        var options = new Dictionary<string, string>(StartupOptions, StringComparer.Ordinal);
        if (settings.Compression == CassandraCompression.Lz4
            && supported.Options.TryGetValue("COMPRESSION", out var offered)
            && offered.Contains(CqlLz4.Name, StringComparer.OrdinalIgnoreCase))
        {
            options["COMPRESSION"] = CqlLz4.Name;
            _lz4Negotiated = true;
        }

        return options;
    }

    /// <summary>After STARTUP was answered: every later request goes compressed when lz4 was agreed.</summary>
    private void StartCompressing() => _compressRequests = _lz4Negotiated;

    /// <summary>
    /// The frame as it goes on the wire: compressed once lz4 was agreed, unless its body is empty (the flag tells the
    /// node which it is, and some LZ4 decoders reject an empty block).
    /// </summary>
    private CqlWriteBuffer Outgoing(CqlWriteBuffer frame) =>
        _compressRequests && frame.Length > CqlFrameHeader.Size ? CqlLz4.CompressFrame(frame.WrittenSpan) : frame;

    /// <summary>
    /// The body of a frame whose header says it is compressed, decompressed (only allowed once lz4 was asked for), with
    /// the header made to describe it; null for an uncompressed frame.
    /// </summary>
    private byte[]? Decompressed(ref CqlFrameHeader header, ReadOnlySpan<byte> body)
    {
        if ((header.Flags & CqlFrameHeader.FlagCompression) == 0)
        {
            return null;
        }

        if (!_lz4Negotiated)
        {
            throw new CassandraProtocolException($"{Endpoint} sent a compressed frame though no compression was negotiated.");
        }

        var plain = CqlLz4.Decompress(body, _maxBodyLength);
        header = header with { Flags = (byte)(header.Flags & ~CqlFrameHeader.FlagCompression), Length = plain.Length };
        return plain;
    }
}
