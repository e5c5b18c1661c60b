using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using EventSourcing.SystemOfRecord.Cassandra.Client;
using EventSourcing.SystemOfRecord.Cassandra.Tests.Support;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Client;

public sealed class CqlTlsTests
{
    [Test]
    public void ForHost_EverySettablePropertySet_EveryOneCopied()
    {
        using var certificate = CqlServerMock.CreateSelfSignedCertificate();
        var original = new SslClientAuthenticationOptions();
        var properties = typeof(SslClientAuthenticationOptions).GetProperties().Where(p => p.CanWrite && p.GetCustomAttributes(typeof(ObsoleteAttribute), true).Length == 0).ToList();
        foreach (var property in properties)
        {
            property.SetValue(original, NonDefault(property.PropertyType, certificate)
                ?? throw new AssertionException($"SslClientAuthenticationOptions.{property.Name} ({property.PropertyType.Name}) is new: copy it in CqlTls.ForHost and give it a value here."));
        }

        var copy = CqlTls.ForHost(original, "fallback-host");

        Assert.Multiple(() =>
        {
            Assert.That(copy, Is.Not.SameAs(original));
            foreach (var property in properties)
            {
                Assert.That(property.GetValue(copy), Is.SameAs(property.GetValue(original)).Or.EqualTo(property.GetValue(original)), property.Name);
            }
        });
    }

    [Test]
    public void ForHost_NoTargetHost_TheHostConnectedTo()
    {
        Assert.That(CqlTls.ForHost(new SslClientAuthenticationOptions(), "db1.example").TargetHost, Is.EqualTo("db1.example"));
    }

    [Test]
    public async Task OpenAsync_CredentialsWithoutTls_WarnsOnceNamingNoSecret()
    {
        await using var nodes = await CqlTestCluster.StartAsync(2, node => node.Credentials = ("app", "s3cret-pw"));
        var logger = new ListLogger<CqlCluster>();
        await using var cluster = new CqlCluster(new CqlClientSettings { ContactPoints = [.. nodes.ContactPoints], UserName = "app", Password = "s3cret-pw" }, logger);

        for (var i = 0; i < 4; i++)
        {
            await cluster.ExecuteAsync(new CqlStatement("SELECT key FROM system.local WHERE key='local'", [], CassandraConsistency.One, Prepare: false));
        }

        var warnings = logger.Entries.Where(e => e.EventId.Id == 4104).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(nodes.Nodes.Select(n => n.RequestCount("AuthResponse") - n.RequestCount("Register")), Has.All.EqualTo(1), "both nodes authenticated a request connection (the control connection aside)");
            Assert.That(warnings, Has.Count.EqualTo(1));
            Assert.That(warnings[0].Level, Is.EqualTo(LogLevel.Warning));
            Assert.That(warnings[0].Message, Does.Contain("plain text").And.Not.Contain("s3cret-pw"));
        });
    }

    [Test]
    public async Task OpenAsync_CredentialsOverTls_NoWarning()
    {
        using var certificate = CqlServerMock.CreateSelfSignedCertificate();
        await using var server = new CqlServerMock { Certificate = certificate, Credentials = ("app", "s3cret-pw") };
        await server.StartAsync();
        var logger = new ListLogger<CqlCluster>();
        var tls = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == certificate.GetCertHashString() };
        await using var cluster = new CqlCluster(new CqlClientSettings { ContactPoints = [server.ContactPoint], UserName = "app", Password = "s3cret-pw", Tls = tls }, logger);

        await cluster.ExecuteAsync(new CqlStatement("SELECT key FROM system.local WHERE key='local'", [], CassandraConsistency.One, Prepare: false));

        Assert.Multiple(() =>
        {
            Assert.That(server.RequestCount("AuthResponse") - server.RequestCount("Register"), Is.EqualTo(1));
            Assert.That(logger.Entries.Where(e => e.EventId.Id == 4104), Is.Empty);
        });
    }

    private static object? NonDefault(Type type, X509Certificate2 certificate) => type switch
    {
        _ when type == typeof(bool) => true,
        _ when type == typeof(string) => "db.example",
        _ when type == typeof(SslProtocols) => SslProtocols.Tls13,
        _ when type == typeof(X509RevocationMode) => X509RevocationMode.Offline,
        _ when type == typeof(EncryptionPolicy) => EncryptionPolicy.RequireEncryption,
        _ when type == typeof(List<SslApplicationProtocol>) => new List<SslApplicationProtocol> { SslApplicationProtocol.Http2 },
        _ when type == typeof(X509CertificateCollection) => new X509CertificateCollection { certificate },
        _ when type == typeof(X509ChainPolicy) => new X509ChainPolicy { RevocationMode = X509RevocationMode.NoCheck },
        _ when type == typeof(CipherSuitesPolicy) && !OperatingSystem.IsWindows() => new CipherSuitesPolicy([TlsCipherSuite.TLS_AES_128_GCM_SHA256]),
        _ when type == typeof(SslStreamCertificateContext) => SslStreamCertificateContext.Create(certificate, null),
        _ when type == typeof(RemoteCertificateValidationCallback) => new RemoteCertificateValidationCallback((_, _, _, _) => true),
        _ when type == typeof(LocalCertificateSelectionCallback) => new LocalCertificateSelectionCallback((_, _, _, _, _) => certificate),
        _ => null,
    };
}
