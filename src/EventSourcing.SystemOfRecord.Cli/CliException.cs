namespace EventSourcing.SystemOfRecord.Cli;

/// <summary>A failure the operator can act on: its message is printed as is (no stack trace) and the process exits with <see cref="ExitCode"/>.</summary>
internal sealed class CliException : Exception
{
    public CliException(int exitCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }
}
