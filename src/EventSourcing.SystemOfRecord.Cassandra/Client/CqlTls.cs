using System.Net.Security;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>The TLS settings of one connection, taken from the user's.</summary>
internal static class CqlTls
{
    /// <summary>
    /// A copy of every setting of <paramref name="options"/> (each connection gets its own object), with
    /// <see cref="SslClientAuthenticationOptions.TargetHost"/> defaulting to the host connected to. A setting left out
    /// here would be silently ignored, so a test compares every public property.
    /// </summary>
    public static SslClientAuthenticationOptions ForHost(SslClientAuthenticationOptions options, string host) => new()
    {
        AllowRenegotiation = options.AllowRenegotiation,
        AllowTlsResume = options.AllowTlsResume,
        ApplicationProtocols = options.ApplicationProtocols,
        CertificateChainPolicy = options.CertificateChainPolicy,
        CertificateRevocationCheckMode = options.CertificateRevocationCheckMode,
        CipherSuitesPolicy = options.CipherSuitesPolicy,
        ClientCertificateContext = options.ClientCertificateContext,
        ClientCertificates = options.ClientCertificates,
        EnabledSslProtocols = options.EnabledSslProtocols,
#pragma warning disable SYSLIB0040 // Obsolete, yet still honoured by SslStream: the user's choice is kept.
        EncryptionPolicy = options.EncryptionPolicy,
#pragma warning restore SYSLIB0040
        LocalCertificateSelectionCallback = options.LocalCertificateSelectionCallback,
        RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback,
        TargetHost = options.TargetHost ?? host,
    };
}
