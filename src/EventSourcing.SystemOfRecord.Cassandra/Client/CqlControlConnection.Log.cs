using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

internal sealed partial class CqlControlConnection
{
    private static partial class Log
    {
        [LoggerMessage(4161, LogLevel.Information, "Cassandra control connection on {Endpoint} (compressed: {Compressed}); following the ring's events.")]
        public static partial void ControlConnected(ILogger logger, string endpoint, bool compressed);

        [LoggerMessage(4162, LogLevel.Warning, "The Cassandra control connection to {Endpoint} broke; moving to another node.")]
        public static partial void ControlLost(ILogger logger, string endpoint);

        [LoggerMessage(4163, LogLevel.Warning, "The Cassandra control connection failed; trying again in {Delay}.")]
        public static partial void ControlFailed(ILogger logger, Exception exception, TimeSpan delay);

        [LoggerMessage(4164, LogLevel.Warning, "Cassandra node {Endpoint} could not be reached; it is retried later.")]
        public static partial void NodeUnreachable(ILogger logger, Exception exception, string endpoint);

        [LoggerMessage(4165, LogLevel.Warning, "The cluster announced Cassandra node {Endpoint} down; it is left out of query plans.")]
        public static partial void NodeAnnouncedDown(ILogger logger, string endpoint);

        [LoggerMessage(4166, LogLevel.Information, "The cluster announced Cassandra node {Endpoint} up; it is back in query plans.")]
        public static partial void NodeAnnouncedUp(ILogger logger, string endpoint);

        [LoggerMessage(4167, LogLevel.Information, "Cassandra topology change {Change} for {Node}; reading the ring again.")]
        public static partial void TopologyChanged(ILogger logger, string change, string node);

        [LoggerMessage(4168, LogLevel.Information, "Discovered Cassandra node {Endpoint} in data center {DataCenter}, rack {Rack}.")]
        public static partial void NodeAdded(ILogger logger, string endpoint, string dataCenter, string rack);

        [LoggerMessage(4169, LogLevel.Information, "Cassandra node {Endpoint} left the ring; its connection is closed.")]
        public static partial void NodeRemoved(ILogger logger, string endpoint);

        [LoggerMessage(4170, LogLevel.Warning, "{Endpoint} listed a peer without host id, data center, rack or address; it is ignored until it is complete.")]
        public static partial void InvalidPeer(ILogger logger, string endpoint);

        [LoggerMessage(4172, LogLevel.Warning, "Closing the connection to Cassandra node {Endpoint}, which left the ring, failed.")]
        public static partial void CloseFailed(ILogger logger, Exception exception, string endpoint);
    }
}
