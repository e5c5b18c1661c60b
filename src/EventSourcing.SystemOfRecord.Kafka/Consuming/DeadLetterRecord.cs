using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace EventSourcing.SystemOfRecord.Kafka;

/// <summary>
/// The record sent to the dead-letter topic: the failed record's key, value and headers unchanged (it stays a
/// CloudEvent that a consumer can read, or that can be moved back), the context of the consumer span that gave up as
/// its <c>traceparent</c>, and <c>sor-dlq-*</c> headers that say where it came from and why it failed.
/// </summary>
internal static class DeadLetterRecord
{
    public const string Prefix = "sor-dlq-";
    public const string OriginalTopicHeader = Prefix + "original-topic";
    public const string OriginalPartitionHeader = Prefix + "original-partition";
    public const string OriginalOffsetHeader = Prefix + "original-offset";
    public const string ConsumerGroupHeader = Prefix + "consumer-group";
    public const string ReasonHeader = Prefix + "reason";
    public const string AttemptsHeader = Prefix + "attempts";
    public const string ExceptionTypeHeader = Prefix + "exception-type";
    public const string ExceptionMessageHeader = Prefix + "exception-message";
    public const string TimeHeader = Prefix + "time";

    /// <summary>Exception messages are cut to this many characters: enough to diagnose, never a payload dump.</summary>
    private const int MaxMessageLength = 1000;

    public static Message<byte[]?, byte[]?> Create(ConsumeResult<byte[]?, byte[]?> failed, string groupId, string reason, Exception exception, int attempts, DateTime now, Activity? consumerSpan)
    {
        var headers = new Headers();
        foreach (var header in failed.Message.Headers ?? [])
        {
            if (!header.Key.StartsWith(Prefix, StringComparison.Ordinal)
                && header.Key is not (CloudEventsKafkaBinding.TransportTraceParentHeader or CloudEventsKafkaBinding.TransportTraceStateHeader))
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }

        if (consumerSpan is not null)
        {
            DistributedContextPropagator.Current.Inject(consumerSpan, headers, static (carrier, name, value) =>
            {
                var target = (Headers)carrier!;
                target.Remove(name);
                target.Add(name, Encoding.UTF8.GetBytes(value));
            });
        }

        var message = exception.Message.Length > MaxMessageLength ? exception.Message[..MaxMessageLength] : exception.Message;
        Add(headers, OriginalTopicHeader, failed.Topic);
        Add(headers, OriginalPartitionHeader, failed.Partition.Value.ToString(CultureInfo.InvariantCulture));
        Add(headers, OriginalOffsetHeader, failed.Offset.Value.ToString(CultureInfo.InvariantCulture));
        Add(headers, ConsumerGroupHeader, groupId);
        Add(headers, ReasonHeader, reason);
        Add(headers, AttemptsHeader, attempts.ToString(CultureInfo.InvariantCulture));
        Add(headers, ExceptionTypeHeader, exception.GetType().FullName ?? exception.GetType().Name);
        Add(headers, ExceptionMessageHeader, message);
        Add(headers, TimeHeader, CloudEventsKafkaBinding.FormatTime(now));
        return new Message<byte[]?, byte[]?> { Key = failed.Message.Key, Value = failed.Message.Value, Headers = headers };
    }

    private static void Add(Headers headers, string name, string value) => headers.Add(name, Encoding.UTF8.GetBytes(value));
}
