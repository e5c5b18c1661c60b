using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlCluster
{
    private static partial class Log
    {
        [LoggerMessage(4111, LogLevel.Warning, "Cassandra node {Endpoint} is down; it is retried later.")]
        public static partial void HostDown(ILogger logger, Exception exception, string endpoint);

        [LoggerMessage(4112, LogLevel.Information, "Cassandra node {Endpoint} is up again.")]
        public static partial void HostUp(ILogger logger, string endpoint);

        [LoggerMessage(4113, LogLevel.Information, "Retrying a Cassandra statement (attempt {Attempt}) in {Delay} after a transient error.")]
        public static partial void Retrying(ILogger logger, Exception? exception, int attempt, TimeSpan delay);

        [LoggerMessage(4114, LogLevel.Debug, "Cassandra node {Endpoint} did not know a prepared statement; prepared it again.")]
        public static partial void Reprepared(ILogger logger, string endpoint);

        [LoggerMessage(4115, LogLevel.Warning, "The Cassandra nodes reported {Versions} schema versions for {Timeout}; going on without schema agreement.")]
        public static partial void NoSchemaAgreement(ILogger logger, int versions, TimeSpan timeout);

        [LoggerMessage(4171, LogLevel.Debug, "A Cassandra read had no answer after {Delay}; sent it to the next node too (speculative execution).")]
        public static partial void Speculating(ILogger logger, TimeSpan delay);

        [LoggerMessage(4116, LogLevel.Warning, "Closing the connection to Cassandra node {Endpoint} failed; the other nodes are closed anyway.")]
        public static partial void HostDisposeFailed(ILogger logger, Exception exception, string endpoint);
    }
}
