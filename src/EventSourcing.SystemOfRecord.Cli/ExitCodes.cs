namespace EventSourcing.SystemOfRecord.Cli;

/// <summary>The process exit codes of <c>sor</c>; the README of the tool lists them.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary><c>reconcile</c>: the topic and the store differ (after <c>--repair</c>: differences it could not repair).</summary>
    public const int Differences = 1;

    /// <summary>Bad arguments: an unknown option, a missing or malformed value, options that contradict each other.</summary>
    public const int Usage = 2;

    /// <summary>The store cannot be opened: no such SQLite file, Cassandra unreachable or refusing, no system of record in it.</summary>
    public const int StoreUnavailable = 3;

    /// <summary>Kafka cannot be reached, or refused a request.</summary>
    public const int BrokerUnavailable = 4;

    /// <summary>A named thing does not exist: a checkpoint, a replay to resume, a topic, an instance's publish cursor.</summary>
    public const int NotFound = 5;

    /// <summary>
    /// The store or a replay's state refuses the request (a checkpoint kept for another range, an operation the store does
    /// not support), or a live process holds the instance name a takeover asked for.
    /// </summary>
    public const int Refused = 6;

    /// <summary>An unexpected error; <c>--verbose</c> shows its details.</summary>
    public const int InternalError = 70;

    /// <summary>Stopped by Ctrl+C (or SIGTERM); a republish keeps an exact checkpoint that <c>--resume</c> continues.</summary>
    public const int Cancelled = 130;
}
