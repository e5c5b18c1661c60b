using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Protocol;

/// <summary>One decoded row: values by column position or name.</summary>
internal sealed class CqlRow(IReadOnlyList<CqlColumn> columns, object?[] values)
{
    public IReadOnlyList<CqlColumn> Columns { get; } = columns;

    public object? this[int index] => values[index];

    public object? this[string name] => values[IndexOf(name)];

    public int IndexOf(string name)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (Columns[i].Name == name)
            {
                return i;
            }
        }

        throw new CassandraProtocolException($"The result has no column '{name}'.");
    }

    public T Get<T>(string name) => values[IndexOf(name)] is T value ? value : throw new CassandraProtocolException($"Column '{name}' is null or not a {typeof(T).Name}.");

    public T? GetOrDefault<T>(string name) => values[IndexOf(name)] is T value ? value : default;
}
