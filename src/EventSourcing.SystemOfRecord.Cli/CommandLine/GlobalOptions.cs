using System.CommandLine;
using System.CommandLine.Parsing;
using EventSourcing.SystemOfRecord.Cli.Kafka;
using EventSourcing.SystemOfRecord.Cli.Stores;

namespace EventSourcing.SystemOfRecord.Cli.CommandLine;

/// <summary>The options every command takes (anywhere on the line): which store to open, Kafka, timeouts, verbosity.</summary>
internal sealed class GlobalOptions
{
    /// <summary>The environment variable the Cassandra password is read from when <c>--password</c> is not given.</summary>
    public const string PasswordVariable = "SOR_CASSANDRA_PASSWORD";

    private static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    public GlobalOptions(CliConsole console)
    {
        Console = console;
    }

    public CliConsole Console { get; }

    public Option<string?> Sqlite { get; } = new("--sqlite")
    {
        Description = "Open the SQLite system of record in this file (never created: it must exist).",
        HelpName = "PATH",
        Recursive = true,
    };

    public Option<string?> Cassandra { get; } = new("--cassandra")
    {
        Description = "Open the Cassandra system of record at these contact points: host or host:port, comma-separated.",
        HelpName = "HOSTS",
        Recursive = true,
    };

    public Option<string?> Keyspace { get; } = new("--keyspace")
    {
        Description = "The Cassandra keyspace (with --cassandra).",
        HelpName = "K",
        Recursive = true,
    };

    public Option<string?> Table { get; } = new("--table")
    {
        Description = "The Cassandra events table (with --cassandra) [default: events].",
        HelpName = "NAME",
        Recursive = true,
    };

    public Option<int> Shards { get; } = new("--shards")
    {
        Description = "The shard count the Cassandra table was created with (with --cassandra).",
        HelpName = "N",
        DefaultValueFactory = _ => 1,
        Recursive = true,
    };

    public Option<string?> User { get; } = new("--user")
    {
        Description = "The Cassandra user name (PasswordAuthenticator).",
        HelpName = "NAME",
        Recursive = true,
    };

    public Option<string?> Password { get; } = new("--password")
    {
        Description = $"The Cassandra password; prefer the {PasswordVariable} environment variable (a command line is visible to other users). Never printed.",
        HelpName = "SECRET",
        Recursive = true,
    };

    public Option<string?> BootstrapServers { get; } = new("--bootstrap-servers")
    {
        Description = "Kafka's bootstrap servers, host:port, comma-separated (republish, reconcile, relay takeover).",
        HelpName = "HOSTS",
        Recursive = true,
    };

    public Option<string[]> KafkaConfig { get; } = new("--kafka-config")
    {
        Description = "A librdkafka setting for the Kafka clients (security.protocol=SASL_SSL, ...); repeatable. Values are never printed.",
        HelpName = "KEY=VALUE",
        Recursive = true,
    };

    public Option<TimeSpan?> ConnectTimeout { get; } = new("--connect-timeout")
    {
        Description = "How long to wait for the store or Kafka to answer before giving up [default: 10s].",
        HelpName = "DURATION",
        Recursive = true,
        CustomParser = ParseTimeout,
    };

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Log what the libraries do, to standard error, and show the details (stack traces) of errors.",
        Recursive = true,
    };

    public void AddTo(RootCommand root)
    {
        root.Options.Add(Sqlite);
        root.Options.Add(Cassandra);
        root.Options.Add(Keyspace);
        root.Options.Add(Table);
        root.Options.Add(Shards);
        root.Options.Add(User);
        root.Options.Add(Password);
        root.Options.Add(BootstrapServers);
        root.Options.Add(KafkaConfig);
        root.Options.Add(ConnectTimeout);
        root.Options.Add(Verbose);
    }

    /// <summary>Makes <paramref name="command"/> ask for exactly one store, with the settings that store needs.</summary>
    public void RequireStore(Command command) => command.Validators.Add(result =>
    {
        var sqlite = result.ValueOrDefault(Sqlite);
        var cassandra = result.ValueOrDefault(Cassandra);
        if (sqlite is null == cassandra is null)
        {
            result.AddError("Give the store: either --sqlite PATH or --cassandra HOSTS --keyspace K.");
            return;
        }

        if (sqlite is not null)
        {
            if (string.IsNullOrWhiteSpace(sqlite))
            {
                result.AddError("--sqlite needs a file path.");
            }

            foreach (var option in new Option[] { Keyspace, Table, User, Password })
            {
                if (result.GetResult(option) is { Implicit: false })
                {
                    result.AddError($"{option.Name} applies to --cassandra only.");
                }
            }

            return;
        }

        if (SplitList(cassandra!).Count == 0)
        {
            result.AddError("--cassandra needs at least one contact point (host or host:port).");
        }

        if (string.IsNullOrWhiteSpace(result.ValueOrDefault(Keyspace)))
        {
            result.AddError("--cassandra needs --keyspace K.");
        }

        if (result.IsGiven(Shards) && result.ValueOrDefault(Shards) < 1)
        {
            result.AddError("--shards must be at least 1.");
        }

        if (result.ValueOrDefault(Password) is not null && result.ValueOrDefault(User) is null)
        {
            result.AddError("--password needs --user.");
        }
    });

    /// <summary>Makes <paramref name="command"/> ask for Kafka's bootstrap servers and well-formed settings.</summary>
    public void RequireKafka(Command command) => command.Validators.Add(result =>
    {
        if (string.IsNullOrWhiteSpace(result.ValueOrDefault(BootstrapServers)))
        {
            result.AddError("This command needs Kafka: --bootstrap-servers HOST:PORT.");
        }

        foreach (var setting in result.ValueOrDefault(KafkaConfig) ?? [])
        {
            var equals = setting.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                // The value may be a secret: name only the key part, if any.
                result.AddError($"--kafka-config takes KEY=VALUE; got a setting without '=' ({setting.Split('=')[0].Length} characters).");
            }
        }
    });

    public bool IsVerbose(ParseResult parse) => parse.GetValue(Verbose);

    /// <summary>The store the command line names. The password comes from --password, or else the environment.</summary>
    public StoreSettings StoreSettings(ParseResult parse)
    {
        var timeout = parse.GetValue(ConnectTimeout) ?? DefaultConnectTimeout;
        if (parse.GetValue(Sqlite) is { } path)
        {
            return new StoreSettings { SqlitePath = path, ConnectTimeout = timeout };
        }

        var user = parse.GetValue(User);
        var password = parse.GetValue(Password);
        if (user is not null && password is null)
        {
            password = Console.Environment(PasswordVariable);
            if (string.IsNullOrEmpty(password))
            {
                throw new CliException(ExitCodes.Usage, $"--user {user} needs a password: set {PasswordVariable} (or pass --password).");
            }
        }

        return new StoreSettings
        {
            CassandraContactPoints = SplitList(parse.GetValue(Cassandra)!),
            Keyspace = parse.GetValue(Keyspace)!,
            Table = parse.GetValue(Table),
            Shards = parse.GetValue(Shards),
            UserName = user,
            Password = password,
            ConnectTimeout = timeout,
        };
    }

    /// <summary>The Kafka clients' settings the command line names.</summary>
    public KafkaSettings KafkaSettings(ParseResult parse)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var setting in parse.GetValue(KafkaConfig) ?? [])
        {
            var equals = setting.IndexOf('=', StringComparison.Ordinal);
            settings[setting[..equals].Trim()] = setting[(equals + 1)..];
        }

        return new KafkaSettings(parse.GetValue(BootstrapServers)!, settings, parse.GetValue(ConnectTimeout) ?? DefaultConnectTimeout);
    }

    private static List<string> SplitList(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static TimeSpan? ParseTimeout(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!TimeText.TryParseDuration(text, out var timeout) || timeout <= TimeSpan.Zero)
        {
            result.AddError($"--connect-timeout takes a positive duration ({TimeText.DurationHelp}); got '{text}'.");
            return DefaultConnectTimeout;
        }

        return timeout;
    }
}
