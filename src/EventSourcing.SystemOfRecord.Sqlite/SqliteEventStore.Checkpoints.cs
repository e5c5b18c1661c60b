using System.Runtime.CompilerServices;

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

    /// <inheritdoc />
    /// <remarks>One <c>BEGIN IMMEDIATE</c> transaction: the write lock is taken before the comparison, so processes take turns.</remarks>
    public async ValueTask<bool> TryReplaceCheckpointAsync(string name, string? expected, string? value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = connection.BeginTransaction(deferred: false);
            await using (transaction.ConfigureAwait(false))
            {
                var current = await ScalarAsync(connection, transaction, "SELECT value FROM checkpoints WHERE name = $name;", ("$name", name)).ConfigureAwait(false) as string;
                if (!string.Equals(current, expected, StringComparison.Ordinal))
                {
                    return false;
                }

                if (value is null)
                {
                    await ExecuteAsync(connection, transaction, "DELETE FROM checkpoints WHERE name = $name;", ("$name", name)).ConfigureAwait(false);
                }
                else
                {
                    await ExecuteAsync(connection, transaction, "INSERT OR REPLACE INTO checkpoints (name, value) VALUES ($name, $value);", ("$name", name), ("$value", value)).ConfigureAwait(false);
                }

                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                return true;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await ExecuteAsync(connection, null, "DELETE FROM checkpoints WHERE name = $name;", ("$name", name)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<KeyValuePair<string, string>> ReadCheckpointsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ThrowIfDisposed();
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<KeyValuePair<string, string>>();
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = CreateCommand(connection, null, "SELECT name, value FROM checkpoints WHERE substr(name, 1, length($prefix)) = $prefix;", [("$prefix", prefix)]);
            await using (command.ConfigureAwait(false))
            {
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        found.Add(new(reader.GetString(0), reader.GetString(1)));
                    }
                }
            }
        }

        // Sorted here: SQLite orders by UTF-8 bytes, the contract by UTF-16 code units (ordinal); the list is small.
        found.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var checkpoint in found)
        {
            yield return checkpoint;
        }
    }
}
