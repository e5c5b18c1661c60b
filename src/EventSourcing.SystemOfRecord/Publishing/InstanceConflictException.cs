namespace EventSourcing.SystemOfRecord;

/// <summary>
/// Another live process holds this instance's name (<see cref="SystemOfRecordOptions.InstanceName"/>), or took it over
/// from this process: two processes must never share one name, since each publishes, and after a crash republishes,
/// the events recorded under it. Give every process its own name; a process that finds itself taken over stops publishing.
/// </summary>
public sealed class InstanceConflictException : SystemOfRecordException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="instanceName">The contested name.</param>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The cause, if any (a broker's fencing error, say).</param>
    public InstanceConflictException(string instanceName, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        InstanceName = instanceName;
    }

    /// <summary>The contested instance name.</summary>
    public string InstanceName { get; }
}
