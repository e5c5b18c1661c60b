using System.Data;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite.Internal;

/// <summary>
/// <c>BEGIN IMMEDIATE</c> ... <c>COMMIT</c> as plain statements, with a rollback that never throws.
/// </summary>
/// <remarks>
/// Not <see cref="SqliteTransaction"/>: when a <c>COMMIT</c> fails on a full disk, SQLite has already rolled the
/// transaction back, yet <see cref="SqliteTransaction"/> still sends <c>ROLLBACK</c> from its Dispose and from the
/// connection's Close. That fails with "cannot rollback - no transaction is active", which replaces the real error
/// (<c>SQLITE_FULL</c>), aborts the connection's Close (leaking its file handles) and escapes from whatever disposes it.
/// Here a rollback is sent only while SQLite reports a transaction open, and its failure is swallowed.
/// </remarks>
internal static class WriteTransaction
{
    /// <summary>Takes the write lock before anything is read, so writers in every process take turns (waiting up to the busy timeout).</summary>
    public static void Begin(SqliteConnection connection) => Execute(connection, "BEGIN IMMEDIATE;");

    public static void Commit(SqliteConnection connection) => Execute(connection, "COMMIT;");

    /// <summary>
    /// Rolls back the transaction still open on <paramref name="connection"/>, if SQLite has not done so already. Never throws.
    /// </summary>
    /// <returns><see langword="false"/> when the connection may still be inside a transaction: close it, never reuse it.</returns>
    public static bool TryRollback(SqliteConnection connection)
    {
        try
        {
            if (connection.State == ConnectionState.Open && SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0)
            {
                Execute(connection, "ROLLBACK;");
            }

            return true;
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one <c>BEGIN IMMEDIATE</c> transaction on a pooled connection and commits it.
    /// On failure the transaction is rolled back and the original error is rethrown; a connection that could not be
    /// rolled back is kept out of the pool.
    /// </summary>
    public static async Task<T> RunAsync<T>(SqliteConnection connection, Func<Task<T>> work)
    {
        Begin(connection);
        try
        {
            var result = await work().ConfigureAwait(false);
            Commit(connection);
            return result;
        }
        catch
        {
            if (!TryRollback(connection))
            {
                SqliteConnection.ClearPool(connection); // closes it on return instead of handing it out inside a transaction
            }

            throw;
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
#pragma warning disable CA2100 // One of three constant statements of this class.
        command.CommandText = sql;
#pragma warning restore CA2100
        command.ExecuteNonQuery();
    }
}
