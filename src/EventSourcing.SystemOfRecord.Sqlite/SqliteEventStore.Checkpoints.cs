namespace EventSourcing.SystemOfRecord.Sqlite;

public sealed partial class SqliteEventStore
{
    /// <inheritdoc />
    public async ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var value = await ScalarAsync(connection, null, "SELECT value FROM checkpoints WHERE name = $name;", ("$name", name)).ConfigureAwait(false);
            return value as string;
        }
    }

    /// <inheritdoc />
    /// <remarks>The write is its own transaction, durable as an append is (per <see cref="SqliteStoreOptions.Synchronous"/>).</remarks>
    public async ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One statement in autocommit mode: SQLite wraps it in a transaction of its own.
            await ExecuteAsync(
                connection,
                null,
                "INSERT OR REPLACE INTO checkpoints (name, value) VALUES ($name, $value);",
                ("$name", name),
                ("$value", value)).ConfigureAwait(false);
        }
    }
}
