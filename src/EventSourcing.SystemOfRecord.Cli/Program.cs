using System.Runtime.InteropServices;
using EventSourcing.SystemOfRecord.Cli;

// Ctrl+C and SIGTERM ask the running command to stop where it can resume (a republish writes its exact checkpoint);
// a second one ends the process at once.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!stop.IsCancellationRequested)
    {
        e.Cancel = true;
        stop.Cancel();
    }
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    if (!stop.IsCancellationRequested)
    {
        context.Cancel = true;
        stop.Cancel();
    }
});

return await SorCli.RunAsync(args, CliConsole.ForProcess(), stop.Token);
