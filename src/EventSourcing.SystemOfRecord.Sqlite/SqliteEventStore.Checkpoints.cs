using System.Runtime.CompilerServices;
using EventSourcing.SystemOfRecord.Sqlite.Internal;

namespace EventSourcing.SystemOfRecord.Sqlite;

public sealed partial class SqliteEventStore
{
    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="SqliteStoreException">SQLite failed, or the file's schema is newer than this version of the package reads.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<string?> ReadCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await GuardAsync("Reading a checkpoint", async () =>
        {
            var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await ScalarAsync(connection, "SELECT value FROM checkpoints WHERE name = $name;", ("$name", name)).ConfigureAwait(false) as string;
            }
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>The write is its own transaction, durable as an append is (per <see cref="SqliteStoreOptions.Synchronous"/>).</remarks>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="SqliteStoreException">SQLite failed (a full disk: 13, a lock held past the busy timeout: 5 or 6); the checkpoint keeps its previous value.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask WriteCheckpointAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);

        // One statement in autocommit mode: SQLite wraps it in a transaction of its own.
        await ExecuteCheckpointStatementAsync(
            "Writing a checkpoint",
            "INSERT OR REPLACE INTO checkpoints (name, value) VALUES ($name, $value);",
            [("$name", name), ("$value", value)],
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One <c>BEGIN IMMEDIATE</c> transaction: the write lock is taken before the comparison, so every connection, in
    /// this process or another, sees the value the winner wrote. Durable as an append is.
    /// </remarks>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="SqliteStoreException">SQLite failed (a full disk: 13, a lock held past the busy timeout: 5 or 6); nothing was replaced.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await GuardAsync("Replacing a checkpoint", async () =>
        {
            var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await WriteTransaction.RunAsync(connection, async () =>
                {
                    var current = await ScalarAsync(connection, "SELECT value FROM checkpoints WHERE name = $name;", ("$name", name)).ConfigureAwait(false) as string;
                    if (!string.Equals(current, expected, StringComparison.Ordinal))
                    {
                        return false;
                    }

                    if (value is null)
                    {
                        await ExecuteAsync(connection, "DELETE FROM checkpoints WHERE name = $name;", ("$name", name)).ConfigureAwait(false);
                    }
                    else
                    {
                        await ExecuteAsync(connection, "INSERT OR REPLACE INTO checkpoints (name, value) VALUES ($name, $value);", ("$name", name), ("$value", value)).ConfigureAwait(false);
                    }

                    return true;
                }).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="SqliteStoreException">SQLite failed; the checkpoint may still exist.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteCheckpointStatementAsync("Deleting a checkpoint", "DELETE FROM checkpoints WHERE name = $name;", [("$name", name)], cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="SqliteStoreException">SQLite failed (thrown while enumerating).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (thrown while enumerating).</exception>
    public async IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var found = await GuardAsync("Listing checkpoints", async () =>
        {
            var checkpoints = new List<KeyValuePair<string, string>>();
            var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var command = CreateCommand(connection, "SELECT name, value FROM checkpoints WHERE substr(name, 1, length($prefix)) = $prefix;", [("$prefix", prefix)]);
                await using (command.ConfigureAwait(false))
                {
                    var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            checkpoints.Add(new(reader.GetString(0), reader.GetString(1)));
                        }
                    }
                }
            }

            return checkpoints;
        }).ConfigureAwait(false);

        // Sorted here: SQLite orders by UTF-8 bytes, the contract by UTF-16 code units (ordinal); the list is small.
        found.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var checkpoint in found)
        {
            yield return checkpoint;
        }
    }

    private async Task ExecuteCheckpointStatementAsync(string operation, string sql, (string Name, object Value)[] parameters, CancellationToken cancellationToken) =>
        await GuardAsync(operation, async () =>
        {
            var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await ExecuteAsync(connection, sql, parameters).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
}
