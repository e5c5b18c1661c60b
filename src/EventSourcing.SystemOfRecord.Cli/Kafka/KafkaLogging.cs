using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Cli.Kafka;

/// <summary>Routes librdkafka's own log lines and errors of the tool's Kafka clients into the tool's logging (shown with --verbose).</summary>
internal static partial class KafkaLogging
{
    public static void Write(ILogger logger, LogMessage message)
    {
        var level = message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical or SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        ClientLog(logger, level, message.Name, message.Facility, message.Message);
    }

    public static void Write(ILogger logger, Error error) => ClientError(logger, error.Code, error.Reason);

    [LoggerMessage(EventId = 9000, Message = "{Client} {Facility}: {Message}")]
    private static partial void ClientLog(ILogger logger, LogLevel level, string client, string facility, string message);

    [LoggerMessage(9001, LogLevel.Warning, "Kafka error {Code}: {Reason}")]
    private static partial void ClientError(ILogger logger, ErrorCode code, string reason);
}
