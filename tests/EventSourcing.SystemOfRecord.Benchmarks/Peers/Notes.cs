using EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

namespace EventSourcing.SystemOfRecord.Benchmarks.Peers;

/// <summary>What each contender was configured to guarantee, for the report.</summary>
internal static class Notes
{
    public static IReadOnlyList<string> All =>
    [
        "**Ours** (`SystemOfRecord` + `SqliteEventStore`): WAL, `synchronous=FULL` (the store's default), group commit (a single writer takes up to `MaxBatchSize` = 512 queued appends per transaction). Durable append runs in `PublishMode.Committed` (`AppendAsync` returns after the commit) with a publisher that only counts. With Kafka: `KafkaEventPublisher` defaults (acks=all, enable.idempotence=true, max.in.flight=5, librdkafka's default linger.ms=5) and the publish pipeline's default of 4 096 publishes in flight; `Committed` rows turn publish recovery on (`PublishRecoveryOptions` defaults: the cursor written every 250 ms), `Acknowledged` rows use the default options. Exactly-once rows set `KafkaPublisherOptions.ExactlyOnce` (a transactional producer; the pipeline's transactions hold up to 1 000 events and the cursor). Every row gets an instance name of its own, so no cursor, lease or transactional id carries over between rows. Replays use `RepublishDateRangeAsync` (one ordered range query streamed through the pipeline).",
        "**Raw Microsoft.Data.Sqlite**: the store's table and index (schema version 2) and the same row values, rows built before the clock, one connection, WAL, `synchronous=FULL`, a prepared single-row INSERT (multi-row VALUES inserts measured no faster here), run by a writer thread of its own in transactions of 512 rows (the store's `MaxBatchSize`): the largest group commit the store would make. No queue, no ids, no validation. Scans: the same ordered range query, every column read, nothing built.",
        "**Raw Confluent.Kafka**: a `byte[]` producer with the same settings as `KafkaEventPublisher` (acks=all, idempotent, max.in.flight=5, 30 s message timeout, default linger.ms=5) sending the same records (key, value, CloudEvents headers, whose values are formatted straight into bytes) with no bound on what is in flight except librdkafka's own queue; its delivery reports carry only the error and persistence status (`dotnet.producer.delivery.report.fields=status`: Confluent.Kafka then copies no key, value or headers back per record, about 1 KB and 1–2 µs of CPU less per record here); done when every delivery report came back, a failure being an error or a status other than Persisted, as for the publisher. **Raw SQLite + producer**: the raw SQLite writer thread hands each committed batch of 512 to a producer thread that produces all of it at once (measured faster than producing on the writer thread); done at the last delivery report. **Raw transactional producer**: the same producer settings plus a `transactional.id`; begin, produce 1 000 records, commit, repeat (one open transaction at a time, as for any one transactional id).",
        "**Kafka**: librdkafka's mock cluster (`rd_kafka_mock_*`, in-process, loopback), 3 brokers, topics of 6 partitions with replication factor 3, started by the Kafka tests' `KafkaMockCluster`.",
        $"**Akka.NET** (`Akka` 1.5.74, `Akka.Persistence` 1.5.74, `Akka.Persistence.Sql` 1.5.73 on linq2db, provider `SQLite.MS`): the minimum HOCON of the plugin's README (journal and snapshot store `sql`, `auto-initialize`), every other setting at its default. One persistent actor per appender; an append is acknowledged from the `Persist` callback, which Akka runs only after the journal wrote the event. The SQLite file is put in WAL mode before the run, like ours; connections keep Microsoft.Data.Sqlite's default synchronous setting ({DefaultSynchronous()}).",
        $"**Wolverine** (`WolverineFx`, `WolverineFx.Sqlite`, `WolverineFx.Kafka` 6.62.0): `PersistMessagesWithSqlite` message storage (durable inbox/outbox), `DurabilityMode.Solo` (one node), durable local queues (`Policies.UseDurableLocalQueues`) for the durable append, and for Kafka `PublishMessage<T>().ToKafkaTopic(...).UseDurableOutbox()` with the producer set to acks=all and idempotence, as Wolverine's durability docs recommend. An append is counted when `IMessageBus.PublishAsync` returned (the envelope is in the SQLite inbox/outbox); the Kafka run ends when the outbox table is empty (every record sent and acknowledged). The SQLite file is put in WAL mode before the run; connections keep the default synchronous setting ({DefaultSynchronous()}).",
        "**Cassandra rows are not a Cassandra measurement**: `CassandraEventStore` (its built-in CQL client, protocol v4) against the Cassandra tests' CQL test server, started in this process on loopback: one node, in-memory tables, no disk, no replication, so the numbers are what the client (and that small server) cost per append and per bucket read, the overhead the client adds on top of a real cluster's own latency. Each row runs against a fresh server; the LZ4 rows negotiate lz4 frame compression in STARTUP (`CassandraStoreOptions.Compression = Lz4`) and compress every frame body both ways.",
        "**Idempotent consumer**: `IdempotentEventHandler` (default options: 30-day window) over `InMemoryProcessedEventLog`, every event new (check, apply, mark), one consumer loop; the bare handler is the same delegate called directly.",
    ];

    /// <summary>Puts a new SQLite file in WAL mode (the mode is stored in the file), as the store does with its own.</summary>
    public static void PrepareWalFile(string file)
    {
        using var connection = RawSqlite.Open(file);
    }

    private static string DefaultSynchronous()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous;";
        var value = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        return value switch { 0 => "OFF", 1 => "NORMAL", 2 => "FULL", 3 => "EXTRA", _ => value.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }
}
