namespace EventSourcing.SystemOfRecord.Sqlite;

/// <summary>
/// SQLite's <c>PRAGMA synchronous</c> setting, which decides when a commit is safe from a power loss.
/// The store always runs in WAL journal mode.
/// </summary>
public enum SqliteSynchronousMode
{
    /// <summary>No fsync at all: fastest, but an operating system crash or power loss can lose or corrupt recent commits.</summary>
    Off = 0,

    /// <summary>
    /// In WAL mode, fsync only at checkpoints: the database stays consistent, but a power loss can roll back
    /// the latest commits. An append that completed may be lost.
    /// </summary>
    Normal = 1,

    /// <summary>Fsync the WAL at every commit: an append that completed survives a power loss. The default.</summary>
    Full = 2,

    /// <summary>As <see cref="Full"/>, and also fsync the directory after the WAL is reset.</summary>
    Extra = 3,
}
