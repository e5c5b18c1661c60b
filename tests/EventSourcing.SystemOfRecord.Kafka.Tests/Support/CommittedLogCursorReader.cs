namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>
/// Reads the publish cursor topic as a <c>read_committed</c> consumer of a real broker would (see
/// <see cref="CommittedLogReader"/>): on the mock cluster, a consumer's own <c>read_committed</c> also shows cursor
/// records of transactions that were aborted or left open by a killed process, which a broker hides.
/// </summary>
internal sealed class CommittedLogCursorReader(string bootstrapServers) : IPublishCursorReader
{
    public CommittedCursor? ReadLast(string topic, int partition, string instanceName, TimeSpan timeout)
    {
        var last = CommittedLogReader.ReadPartition(bootstrapServers, topic, partition).Committed.LastOrDefault(r => r.Key == instanceName);
        return last is null ? null : new CommittedCursor(last.Value, last.Header(PublishCursorTopic.TransactionHeader));
    }
}
