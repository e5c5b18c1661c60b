using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

/// <summary>
/// Holds SQLite's write lock on a file from another connection (as another process would), so that a store's
/// writer waits in <c>BEGIN IMMEDIATE</c> and appends pile up behind it. Released on <see cref="Release"/> or dispose.
/// </summary>
internal sealed class WriteLock : IDisposable
{
    private readonly SqliteConnection _connection;
    private SqliteTransaction? _transaction;

    public WriteLock(TempDatabase database)
    {
        _connection = database.OpenRawConnection();
        _transaction = _connection.BeginTransaction(deferred: false);
    }

    public void Release()
    {
        _transaction?.Commit();
        _transaction?.Dispose();
        _transaction = null;
    }

    public void Dispose()
    {
        Release();
        _connection.Dispose();
    }
}
