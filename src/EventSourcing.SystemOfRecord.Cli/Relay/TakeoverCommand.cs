using System.CommandLine;
using System.Globalization;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Stores;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli.Relay;

/// <summary>
/// <c>sor relay takeover --instance I --bootstrap-servers ... [--lease D]</c>: runs as instance I for as long as it
/// takes to publish what I left unpublished when its process died, then lets the name go. It is the library's own
/// start under that name (<see cref="SystemOfRecord.StartAsync"/> with publish recovery): it waits out the dead holder's
/// lease and is refused when the holder turns out to be alive; it catches up from I's cursor to its reservation; its
/// disposal writes the cursor and lets go.
/// </summary>
internal static class TakeoverCommand
{
    /// <summary>The library's default lease (<see cref="PublishRecoveryOptions.LeaseDuration"/>).</summary>
    public static readonly TimeSpan DefaultLease = new PublishRecoveryOptions().LeaseDuration;

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    public static Command Create(GlobalOptions global)
    {
        var command = new Command(
            "takeover",
            "Publish what a dead instance left unpublished: wait out its lease (refused if its holder is alive), catch up from its cursor, then let the name go. Only for an instance whose process is really gone.");
        global.RequireStore(command);
        global.RequireKafka(command);
        var instance = RelayCommand.InstanceOption(command);
        var lease = Arguments.Duration(
            "--lease",
            "The instance's PublishRecoveryOptions.LeaseDuration: how long its record must stay unchanged before its holder counts as dead. Never less than the application's.",
            DefaultLease);
        command.Options.Add(lease);
        command.Validators.Add(result =>
        {
            if (result.ValueOrDefault(lease) is { } given && given < TimeSpan.FromMilliseconds(100))
            {
                result.AddError("--lease must be at least 100ms.");
            }
        });

        CommandRunner.SetBody(command, global, async context =>
        {
            var cancellationToken = context.CancellationToken;
            var name = context.Value(instance)!;
            var leaseDuration = context.Value(lease) ?? DefaultLease;
            var kafka = global.KafkaSettings(context.Parse);
            var logger = context.Logging.CreateLogger("EventSourcing.SystemOfRecord.Cli.Relay");
            await using var session = await StoreSession.OpenAsync(global.StoreSettings(context.Parse), context.Logging, cancellationToken);
            var before = await FindCursorAsync(session, name, context)
                ?? throw new CliException(
                    ExitCodes.NotFound,
                    $"There is no publish cursor for instance '{name}' in {session.Description}: no process ran under that name with publish recovery (sor relay list shows the instances that did).");
            await kafka.CheckReachableAsync(null, logger, cancellationToken);
            await using var publisher = kafka.CreatePublisher(context.Logging);
            await using var host = SystemOfRecordHost.CreateAsInstance(session.Store, session.Increment, publisher, name, leaseDuration, context.Logging);

            var output = context.Console.Output;
            output.MarkupLineInterpolated(
                $"Taking over instance [bold]{name}[/] of {session.Description}: cursor {TimeText.Format(before.Cursor.GetTimestamp().UtcDateTime)}, reserved until {TimeText.Format(before.ReservedUntil.UtcDateTime)}; publishing to Kafka at {kafka.BootstrapServers}.");
            output.MarkupLine(before.IsReleased
                ? "Its last holder let go of the name: no wait."
                : Markup.Escape($"Its last holder did not let go: watching its record for {TimeText.Format(leaseDuration)}. If it changes, a live process holds the name and the takeover is refused."));

            using var counter = new PublishedEventCounter();
            PublishStatus done;
            try
            {
                done = await output.Progress()
                    .AutoClear(false)
                    .Columns(new ProgressBarColumn(), new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new SpinnerColumn())
                    .StartAsync(progress => RunAsync(host.System, before, leaseDuration, counter, progress, cancellationToken));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                output.MarkupLine("[yellow]Stopped[/]: the cursor is written where it stands and the name let go; run the takeover again to finish.");
                return ExitCodes.Cancelled;
            }
            catch (InstanceConflictException ex)
            {
                throw new CliException(
                    ExitCodes.Refused,
                    $"Instance '{name}' is held by a live process: its publish cursor record changed while the takeover watched it for {TimeText.Format(leaseDuration)}. Take over only an instance whose process is gone for good.",
                    ex);
            }

            // Disposing writes the cursor and lets the name go; read the record back to say so only when it happened.
            await host.DisposeAsync();
            var after = await FindCursorAsync(session, name, context);
            var published = counter.Count;
            output.MarkupLineInterpolated(
                $"[green]Done:[/] instance {name} is caught up: {published:N0} events published, cursor at {TimeText.Format(done.Cursor.GetTimestamp().UtcDateTime)}.");
            if (done.Parked > 0)
            {
                context.Console.WriteWarning(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{done.Parked:N0} events were refused for good and parked: sor relay parked --instance {name}"));
            }

            if (after is { IsReleased: true })
            {
                output.MarkupLine("The name is let go: the application may start under it again, at once.");
            }
            else
            {
                context.Console.WriteWarning($"Could not let go of instance '{name}' (run with --verbose for the reason): the next process under that name waits for the lease to lapse.");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Starts the system of record as the instance, then waits until it has published everything it found; shows where it stands.</summary>
    private static async Task<PublishStatus> RunAsync(
        SystemOfRecord sor,
        PublishCursorInfo before,
        TimeSpan leaseDuration,
        PublishedEventCounter counter,
        ProgressContext progress,
        CancellationToken cancellationToken)
    {
        var lease = progress.AddTask(Markup.Escape(before.IsReleased ? "taking the name" : $"watching the holder's record (lease {TimeText.Format(leaseDuration)})"), maxValue: 1);

        // No token: a start cancelled half-way would go on in the background, and its lease with it.
        var start = sor.StartAsync(CancellationToken.None);
        var watching = TimeProvider.System.GetTimestamp();
        try
        {
            while (!start.IsCompleted)
            {
                lease.Value = before.IsReleased ? 0 : Math.Min(0.99, TimeProvider.System.GetElapsedTime(watching) / leaseDuration);
                await Task.WhenAny(start, Task.Delay(Tick, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException)
        {
            // Let the start finish (a lease at most) so that the disposal finds it done and lets the name go.
            await start.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            throw;
        }

        await start; // InstanceConflictException: a live process holds the name
        lease.Value = 1;
        lease.Description = before.IsReleased ? "took the name" : "took the name: its holder stayed silent for the whole lease";
        lease.StopTask();

        var from = before.Cursor.GetTimestamp();
        var span = before.ReservedUntil - from;
        var task = progress.AddTask("catching up", maxValue: 1);
        while (true)
        {
            var status = sor.GetPublishStatus();
            if (status.State == PublishState.Fenced)
            {
                throw new CliException(ExitCodes.Refused, $"Another process took instance '{status.InstanceName}' over while this one published; it stopped.");
            }

            var done = status.State == PublishState.Running && status.Backlog == 0;
            task.Value = done || span <= TimeSpan.Zero ? 1 : Math.Clamp((status.Cursor.GetTimestamp() - from) / span, 0, 1);
            task.Description = Markup.Escape(string.Create(
                CultureInfo.InvariantCulture,
                $"{status.State}: {counter.Count:N0} published, {status.Backlog:N0} waiting, {status.InFlight:N0} in flight, {status.Parked:N0} parked, cursor {TimeText.Format(status.Cursor.GetTimestamp().UtcDateTime)}"));
            if (done)
            {
                task.StopTask();
                return status;
            }

            await Task.Delay(Tick, cancellationToken);
        }
    }

    private static async Task<PublishCursorInfo?> FindCursorAsync(StoreSession session, string instance, CommandContext context)
    {
        await using var host = SystemOfRecordHost.Create(session.Store, session.Increment, publisher: null, context.Logging);
        await foreach (var cursor in host.System.GetPublishCursorsAsync(context.CancellationToken))
        {
            if (string.Equals(cursor.InstanceName, instance, StringComparison.Ordinal))
            {
                return cursor;
            }
        }

        return null;
    }
}
