using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace EventSourcing.SystemOfRecord.Cassandra;

/// <summary>Validates <see cref="CassandraStoreOptions"/>; one message names every bad setting.</summary>
internal sealed partial class CassandraStoreOptionsValidator : IValidateOptions<CassandraStoreOptions>
{
    internal const int MaxTableLength = 35;

    public ValidateOptionsResult Validate(string? name, CassandraStoreOptions options)
    {
        var errors = Errors(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static void ThrowIfInvalid(CassandraStoreOptions options)
    {
        var errors = Errors(options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(CassandraStoreOptions), errors);
        }
    }

    /// <summary>
    /// CQL's reserved keywords (Cassandra 3.x to 5.x and DataStax's lists together): an unquoted identifier may not be
    /// one, whatever its case, and the store never quotes identifiers.
    /// </summary>
    internal static readonly FrozenSet<string> ReservedWords = new[]
    {
        "ADD", "ALLOW", "ALTER", "AND", "APPLY", "ASC", "AUTHORIZE", "BATCH", "BEGIN", "BY", "COLUMNFAMILY", "CREATE",
        "DEFAULT", "DELETE", "DESC", "DESCRIBE", "DROP", "ENTRIES", "EXECUTE", "FOR", "FROM", "FULL", "GRANT", "IF", "IN",
        "INDEX", "INFINITY", "INSERT", "INTO", "IS", "KEYSPACE", "KEYSPACES", "LIMIT", "MATERIALIZED", "MBEAN", "MBEANS",
        "MODIFY", "NAN", "NORECURSIVE", "NOT", "NULL", "OF", "ON", "OR", "ORDER", "PRIMARY", "RENAME", "REPLACE", "REVOKE",
        "SCHEMA", "SELECT", "SET", "TABLE", "TO", "TOKEN", "TRUNCATE", "UNLOGGED", "UNSET", "UPDATE", "USE", "USING",
        "VIEW", "WHERE", "WITH",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether <paramref name="value"/> is an unquoted CQL identifier no longer than <paramref name="maxLength"/>: a
    /// letter, then letters, digits or '_' to the very end (no trailing newline), and not a reserved word.
    /// </summary>
    public static bool IsIdentifier(string? value, int maxLength) =>
        value is not null && value.Length <= maxLength && IdentifierPattern().IsMatch(value) && !ReservedWords.Contains(value);

    private static List<string> Errors(CassandraStoreOptions options)
    {
        List<string> errors = [];
        if (options.ContactPoints is null || options.ContactPoints.Count == 0
            || options.ContactPoints.Any(point => Client.CqlCluster.TryParseContactPoint(point, 9042) is null))
        {
            errors.Add("CassandraStoreOptions.ContactPoints must list at least one node, each as host or host:port (port 1-65535).");
        }

        if (options.Port is < 1 or > 65535)
        {
            errors.Add($"CassandraStoreOptions.Port must be between 1 and 65535; got {options.Port}.");
        }

        if (!IsIdentifier(options.Keyspace, 48))
        {
            errors.Add($"CassandraStoreOptions.Keyspace must be a CQL identifier (a letter, then letters, digits or '_', at most 48, not a reserved word); got '{options.Keyspace}'.");
        }

        if (!IsIdentifier(options.Table, MaxTableLength))
        {
            errors.Add($"CassandraStoreOptions.Table must be a CQL identifier (a letter, then letters, digits or '_', at most {MaxTableLength}, not a reserved word); got '{options.Table}'.");
        }

        if ((options.UserName is null) != (options.Password is null))
        {
            errors.Add("CassandraStoreOptions.UserName and Password must be set together.");
        }

        if (options.Replication is null || !options.Replication.ContainsKey("class")
            || options.Replication.Any(pair => !ReplicationPattern().IsMatch(pair.Key ?? string.Empty) || !ReplicationPattern().IsMatch(pair.Value ?? string.Empty)))
        {
            errors.Add("CassandraStoreOptions.Replication must hold a 'class' entry, and its keys and values only letters, digits, '_', '.' and '-'.");
        }

        if (options.ShardCount is < 1 or > 1024)
        {
            errors.Add($"CassandraStoreOptions.ShardCount must be between 1 and 1024; got {options.ShardCount}.");
        }

        if (options.PageSize < 1)
        {
            errors.Add($"CassandraStoreOptions.PageSize must be positive; got {options.PageSize}.");
        }

        if (options.MaxPageBytes is < 64 * 1024 or > 128 * 1024 * 1024)
        {
            errors.Add($"CassandraStoreOptions.MaxPageBytes must be between 65536 (64 KiB) and 134217728 (128 MiB); got {options.MaxPageBytes}.");
        }

        if (options.LargeBucketThreshold < 1)
        {
            errors.Add($"CassandraStoreOptions.LargeBucketThreshold must be positive; got {options.LargeBucketThreshold}.");
        }

        if (options.ConnectTimeout <= TimeSpan.Zero || options.RequestTimeout <= TimeSpan.Zero)
        {
            errors.Add("CassandraStoreOptions.ConnectTimeout and RequestTimeout must be positive.");
        }

        if (options.MaxRetries < 0 || options.RetryDelay < TimeSpan.Zero)
        {
            errors.Add("CassandraStoreOptions.MaxRetries and RetryDelay must not be negative.");
        }

        if (options.SerialConsistency is not (CassandraConsistency.Serial or CassandraConsistency.LocalSerial))
        {
            errors.Add($"CassandraStoreOptions.SerialConsistency must be Serial or LocalSerial; got {options.SerialConsistency}.");
        }

        if (options.LocalDataCenter is { } dataCenter && string.IsNullOrWhiteSpace(dataCenter))
        {
            errors.Add("CassandraStoreOptions.LocalDataCenter must name a data center, or be null.");
        }

        if (!Enum.IsDefined(options.Compression))
        {
            errors.Add($"CassandraStoreOptions.Compression must be None or Lz4; got {options.Compression}.");
        }

        if (options.SpeculativeExecutionDelay is { } delay && delay <= TimeSpan.Zero)
        {
            errors.Add($"CassandraStoreOptions.SpeculativeExecutionDelay must be positive, or null to turn it off; got {delay}.");
        }

        if (options.TopologyRefreshInterval <= TimeSpan.Zero)
        {
            errors.Add($"CassandraStoreOptions.TopologyRefreshInterval must be positive; got {options.TopologyRefreshInterval}.");
        }

        return errors;
    }

    // \z, not $: "$" also matches before a final newline, which would let "ks\n" through.
    [GeneratedRegex(@"\A[A-Za-z][A-Za-z0-9_]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();

    [GeneratedRegex(@"\A[A-Za-z0-9_.-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex ReplicationPattern();
}
