using System.Net.Security;
using System.Net.Sockets;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlConnection
{
    internal const string PasswordAuthenticator = "org.apache.cassandra.auth.PasswordAuthenticator";

    private static readonly Dictionary<string, string> StartupOptions = new(StringComparer.Ordinal)
    {
        ["CQL_VERSION"] = "3.0.0",
        ["DRIVER_NAME"] = "EventSourcing.SystemOfRecord.Cassandra",
        ["DRIVER_VERSION"] = typeof(CqlConnection).Assembly.GetName().Version?.ToString() ?? "0.0.0",
    };

    /// <summary>
    /// Connects to <paramref name="host"/>, negotiates TLS when configured, then runs the startup handshake:
    /// OPTIONS/SUPPORTED, STARTUP, and READY or AUTHENTICATE with SASL PLAIN (spec section 4.1.1-4.1.3).
    /// </summary>
    public static async Task<CqlConnection> OpenAsync(string host, int port, CqlClientSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        var endpoint = $"{host}:{port}";
        using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connectTimeout.CancelAfter(settings.ConnectTimeout);
        var client = new TcpClient { NoDelay = true };
        Stream stream;
        try
        {
            await client.ConnectAsync(host, port, connectTimeout.Token).ConfigureAwait(false);
            stream = client.GetStream();
            if (settings.Tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                var authentication = CqlTls.ForHost(tls, host);
                await ssl.AuthenticateAsClientAsync(authentication, connectTimeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            client.Dispose();
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new CassandraConnectionException($"Could not connect to {endpoint}: {ex.Message}", ex);
        }

        var connection = new CqlConnection(client, stream, endpoint, settings.MaxFrameBodyBytes, logger);
        connection.StartReadLoop();
        try
        {
            await connection.StartupAsync(settings, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        Log.ConnectionOpened(logger, endpoint, settings.Tls is not null);
        return connection;
    }

    private async Task StartupAsync(CqlClientSettings settings, CancellationToken cancellationToken)
    {
        var timeout = settings.ConnectTimeout;
        if (await SendAsync(OptionsRequest.Instance, null, timeout, cancellationToken).ConfigureAwait(false) is not SupportedResponse supported)
        {
            throw new CassandraProtocolException($"{Endpoint} did not answer OPTIONS with SUPPORTED.");
        }

        var response = await SendAsync(new StartupRequest(NegotiateStartup(supported, settings)), null, timeout, cancellationToken).ConfigureAwait(false);
        StartCompressing();
        switch (response)
        {
            case ReadyResponse:
                return;
            case AuthenticateResponse authenticate:
                await AuthenticateAsync(authenticate.Authenticator, settings, cancellationToken).ConfigureAwait(false);
                return;
            default:
                throw new CassandraProtocolException($"{Endpoint} answered STARTUP with {response.GetType().Name}.");
        }
    }

    private async Task AuthenticateAsync(string authenticator, CqlClientSettings settings, CancellationToken cancellationToken)
    {
        if (settings.UserName is null || settings.Password is null)
        {
            throw new CassandraAuthenticationException($"{Endpoint} requires authentication ({authenticator}) but no user name and password are configured.");
        }

        if (settings.Tls is null && settings.FirstPlainTextCredentials())
        {
            Log.PlainTextCredentials(_logger, Endpoint);
        }

        // PasswordAuthenticator and compatible ones (DSE, Scylla) speak SASL PLAIN; one response settles it.
        var token = AuthResponseRequest.PlainText(settings.UserName, settings.Password);
        var response = await SendAsync(token, null, settings.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        if (response is not AuthSuccessResponse)
        {
            throw new CassandraAuthenticationException($"{Endpoint} answered the SASL PLAIN response of {authenticator} with {response.GetType().Name}; only PLAIN is supported.");
        }
    }
}
