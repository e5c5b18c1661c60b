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

    /// <summary>Whether <paramref name="value"/> is an unquoted CQL identifier no longer than <paramref name="maxLength"/>.</summary>
    public static bool IsIdentifier(string? value, int maxLength) =>
        value is not null && value.Length <= maxLength && IdentifierPattern().IsMatch(value);

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
            errors.Add($"CassandraStoreOptions.Keyspace must be a CQL identifier (a letter, then letters, digits or '_', at most 48); got '{options.Keyspace}'.");
        }

        if (!IsIdentifier(options.Table, MaxTableLength))
        {
            errors.Add($"CassandraStoreOptions.Table must be a CQL identifier (a letter, then letters, digits or '_', at most {MaxTableLength}); got '{options.Table}'.");
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

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex ReplicationPattern();
}
