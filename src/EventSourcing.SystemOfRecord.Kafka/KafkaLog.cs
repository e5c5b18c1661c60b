using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>librdkafka's own log lines and errors, forwarded to the app's logger. librdkafka redacts secrets itself.</summary>
internal static partial class KafkaLog
{
    public static void Write(ILogger logger, LogMessage message)
    {
        var level = message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Critical,
            SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        Librdkafka(logger, level, message.Name, message.Facility, message.Message);
    }

    public static void Error(ILogger logger, Error error)
    {
        if (error.IsFatal)
        {
            FatalError(logger, error.Code, error.Reason);
        }
        else
        {
            TransientError(logger, error.Code, error.Reason);
        }
    }

    [LoggerMessage(EventId = 3900, Message = "librdkafka {Client} {Facility}: {Text}")]
    private static partial void Librdkafka(ILogger logger, LogLevel level, string client, string facility, string text);

    [LoggerMessage(3901, LogLevel.Warning, "Kafka reported {Code}: {Reason}. librdkafka retries on its own.")]
    private static partial void TransientError(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(3902, LogLevel.Critical, "Kafka reported a fatal error {Code}: {Reason}. The client can no longer be used; restart the application.")]
    private static partial void FatalError(ILogger logger, ErrorCode code, string reason);
}
