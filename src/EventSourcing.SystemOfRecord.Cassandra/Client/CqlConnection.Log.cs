using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlConnection
{
    private static partial class Log
    {
        [LoggerMessage(4101, LogLevel.Debug, "Connected to Cassandra node {Endpoint} (TLS: {Tls}).")]
        public static partial void ConnectionOpened(ILogger logger, string endpoint, bool tls);

        [LoggerMessage(4102, LogLevel.Warning, "The connection to Cassandra node {Endpoint} broke; its pending requests fail.")]
        public static partial void ConnectionBroken(ILogger logger, Exception exception, string endpoint);

        [LoggerMessage(4103, LogLevel.Warning, "Cassandra node {Endpoint} warned: {Warning}")]
        public static partial void ServerWarning(ILogger logger, string endpoint, string warning);

        [LoggerMessage(4104, LogLevel.Warning, "Sending the Cassandra user name and password to {Endpoint} in plain text, readable on the network; set CassandraStoreOptions.Tls to encrypt the connection. (Logged once.)")]
        public static partial void PlainTextCredentials(ILogger logger, string endpoint);
    }
}
