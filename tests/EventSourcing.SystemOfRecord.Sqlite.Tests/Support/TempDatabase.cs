using EventSourcing.SystemOfRecord.Sqlite;
using Microsoft.Data.Sqlite;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

/// <summary>A SQLite file in a temporary folder of its own, deleted with the folder on dispose.</summary>
internal sealed class TempDatabase : IAsyncDisposable
{
    private readonly List<SqliteEventStore> _stores = [];

    public TempDatabase()
    {
        Folder = Path.Combine(Path.GetTempPath(), "sor-sqlite-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        FilePath = Path.Combine(Folder, "events.db");
    }

    public string Folder { get; }

    public string FilePath { get; }

    public string ConnectionString => $"Data Source={FilePath}";

    /// <summary>A store on this file, disposed with the database unless the test disposes it first.</summary>
    public SqliteEventStore CreateStore(Action<SqliteStoreOptions>? configure = null)
    {
        var options = new SqliteStoreOptions { ConnectionString = ConnectionString };
        configure?.Invoke(options);
        var store = new SqliteEventStore(options);
        _stores.Add(store);
        return store;
    }

    /// <summary>A plain connection that is not pooled, for looking at the file from "outside" the store.</summary>
    public SqliteConnection OpenRawConnection()
    {
        var connection = new SqliteConnection($"Data Source={FilePath};Pooling=False");
        connection.Open();
        return connection;
    }

    public long Scalar(string sql)
    {
        using var connection = OpenRawConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the temp folder is cleaned by the OS otherwise.
        }
    }
}
