using Microsoft.Extensions.Logging;

namespace EventSourcing.SystemOfRecord.Sqlite;

public sealed partial class SqliteEventStore
{
    /// <summary>
    /// Log messages of <see cref="SqliteEventStore"/>, with stable event ids (1001 and up). They name the database
    /// file, never the connection string (which may hold a password), and never payloads.
    /// </summary>
    private static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Information, "SQLite event store opened on {DataSource} (WAL, synchronous {Synchronous}, up to {MaxBatchSize} appends per commit).")]
        public static partial void Opened(ILogger logger, string dataSource, SqliteSynchronousMode synchronous, int maxBatchSize);

        [LoggerMessage(2002, LogLevel.Information, "Created the events schema (version {SchemaVersion}) in {DataSource}.")]
        public static partial void SchemaCreated(ILogger logger, string dataSource, int schemaVersion);

        [LoggerMessage(2003, LogLevel.Error, "The SQLite database {DataSource} was created with a bucket increment of {Stored} but was opened with {Requested}.")]
        public static partial void IncrementMismatch(ILogger logger, string dataSource, TimeSpan stored, TimeSpan requested);

        [LoggerMessage(2004, LogLevel.Warning, "A commit of {Count} appends to {DataSource} failed and was rolled back; writing each on its own.")]
        public static partial void BatchFailedRetryingEach(ILogger logger, Exception exception, int count, string dataSource);

        [LoggerMessage(2005, LogLevel.Error, "A commit of {Count} appends to {DataSource} failed and was rolled back; none of them was written.")]
        public static partial void BatchFailed(ILogger logger, Exception exception, int count, string dataSource);

        [LoggerMessage(2006, LogLevel.Error, "Appending event {EventId} to {DataSource} failed; it was not written.")]
        public static partial void AppendFailed(ILogger logger, Exception exception, TimeUuid eventId, string dataSource);

        [LoggerMessage(2007, LogLevel.Information, "Migrated the events schema of {DataSource} from version {From} to {To}: {Rows} events in {Elapsed}.")]
        public static partial void SchemaMigrated(ILogger logger, string dataSource, int from, int to, long rows, TimeSpan elapsed);

        [LoggerMessage(2008, LogLevel.Warning, "Could not truncate the WAL of {DataSource} after the schema migration; later checkpoints reuse it.")]
        public static partial void WalTruncateFailed(ILogger logger, Exception exception, string dataSource);

        [LoggerMessage(2009, LogLevel.Warning, "Closing a connection to {DataSource} failed; SQLite rolls back whatever it left open.")]
        public static partial void CloseFailed(ILogger logger, Exception exception, string dataSource);
    }
}
