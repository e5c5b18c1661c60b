using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite;

/// <summary>
/// The error of every SQLite operation in this package: SQLite refused it (the <see cref="SqliteException"/> is the
/// <see cref="Exception.InnerException"/>, its result codes are copied here), or the file holds something this version
/// cannot use (a newer schema, an unreadable row; then the codes are <see langword="null"/>).
/// </summary>
/// <remarks>
/// <para>
/// <see cref="IsTransient"/> is <see langword="true"/> only for <c>SQLITE_BUSY</c> (5) and <c>SQLITE_LOCKED</c> (6):
/// another connection held a lock past the busy timeout, and the same call later may succeed. Everything else needs
/// someone to act before a retry can help, so it is not transient: <c>SQLITE_FULL</c> (13, the disk or the volume is
/// full), <c>SQLITE_IOERR</c> (10, the disk failed a read, write or fsync), <c>SQLITE_CORRUPT</c> (11) and
/// <c>SQLITE_NOTADB</c> (26, the file is damaged or not a database), <c>SQLITE_READONLY</c> (8),
/// <c>SQLITE_CANTOPEN</c> (14) and <c>SQLITE_PERM</c> (3, permissions or a read-only volume), constraint and
/// schema errors.
/// </para>
/// <para>
/// A failed append wrote nothing of its event, whatever the code: SQLite rolled the transaction back.
/// </para>
/// </remarks>
public class SqliteStoreException : SystemOfRecordException
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    /// <summary>Wraps an error SQLite reported.</summary>
    /// <param name="message">What failed, naming the database file (never the connection string).</param>
    /// <param name="innerException">SQLite's error; its codes become <see cref="SqliteErrorCode"/> and <see cref="SqliteExtendedErrorCode"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerException"/> is null.</exception>
    public SqliteStoreException(string message, SqliteException innerException)
        : base(message, innerException ?? throw new ArgumentNullException(nameof(innerException)))
    {
        SqliteErrorCode = innerException.SqliteErrorCode;
        SqliteExtendedErrorCode = innerException.SqliteExtendedErrorCode;
    }

    /// <summary>Reports a problem the store found itself (a schema it does not know, a row it cannot read).</summary>
    /// <param name="message">What is wrong, naming the database file.</param>
    /// <param name="innerException">The cause, if any.</param>
    public SqliteStoreException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// SQLite's primary result code (<c>13</c> for <c>SQLITE_FULL</c>, <c>5</c> for <c>SQLITE_BUSY</c>, ...), or
    /// <see langword="null"/> when the error is not SQLite's.
    /// </summary>
    public int? SqliteErrorCode { get; }

    /// <summary>
    /// SQLite's extended result code (<c>778</c> for <c>SQLITE_IOERR_WRITE</c>, ...), or <see langword="null"/> when the
    /// error is not SQLite's.
    /// </summary>
    public int? SqliteExtendedErrorCode { get; }

    /// <summary>
    /// <see langword="true"/> for <c>SQLITE_BUSY</c> and <c>SQLITE_LOCKED</c> only: a lock held by another connection
    /// or process past the busy timeout. A full disk, an I/O error or a damaged file is not transient.
    /// </summary>
    public override bool IsTransient => SqliteErrorCode is SqliteBusy or SqliteLocked;

    /// <summary>The package's exception for SQLite's error <paramref name="error"/> during <paramref name="operation"/>.</summary>
    internal static SqliteStoreException From(SqliteException error, string operation, string dataSource) =>
        new($"{operation} failed on the SQLite database '{dataSource}': {error.Message}", error);
}
