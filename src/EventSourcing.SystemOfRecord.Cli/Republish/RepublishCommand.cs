using System.CommandLine;
using System.Globalization;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Stores;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli.Republish;

/// <summary>
/// <c>sor republish --from --to [--name N] [--rate R] [--resume]</c>: sends the stored events of a range
/// to Kafka again, as a managed replay (<see cref="SystemOfRecord.RunReplayAsync(string, DateTime, DateTime, ManagedReplayOptions?, IProgress{ReplayProgress}?, CancellationToken)"/>):
/// a live progress bar, an optional rate limit, and a checkpoint in the store, exact when Ctrl+C stops it. Events go
/// out in stored order with thousands in flight, through the publish pipeline; the publisher keeps each key's order.
/// </summary>
/// <remarks>
/// Every run is a managed replay, named or not: that is what gives the progress, the rate limit and the checkpoint
/// (<c>RepublishDateRangeAsync</c> has none of them). Without --name the replay gets a one-off name, its checkpoint is
/// deleted when it completes, and a stopped run prints the name to resume it by. With --name the checkpoint stays
/// after completion, so the same name never delivers a range twice by mistake.
/// </remarks>
internal static partial class RepublishCommand
{
    /// <summary>The prefix the library keeps managed replay checkpoints under (what <c>sor checkpoints list --prefix replay/</c> shows).</summary>
    public const string CheckpointPrefix = "replay/";

    public static Command Create(GlobalOptions global)
    {
        var command = new Command("republish", "Send the stored events of a range to Kafka again (a managed replay: progress bar, rate limit, checkpoint; Ctrl+C stops at an exact checkpoint that --resume continues).");
        global.RequireStore(command);
        global.RequireKafka(command);
        var (from, to) = Arguments.Range(command, global.Console, "to republish", required: false);
        var name = new Option<string?>("--name") { Description = "Name the replay: its checkpoint is kept under replay/NAME, also once complete. Without it the run gets a one-off name, printed if it stops.", HelpName = "NAME" };
        var resume = new Option<bool>("--resume") { Description = "Continue the replay --name from its checkpoint (--from and --to come from the checkpoint)." };
        var rate = new Option<double?>("--rate") { Description = "At most this many events per second.", HelpName = "EVENTS_PER_SECOND" };
        command.Options.Add(name);
        command.Options.Add(resume);
        command.Options.Add(rate);
        command.Validators.Add(result =>
        {
            if (result.ValueOrDefault(resume))
            {
                if (string.IsNullOrWhiteSpace(result.ValueOrDefault(name)))
                {
                    result.AddError("--resume needs the --name of the replay to continue.");
                }
            }
            else if (!result.IsGiven(from) || !result.IsGiven(to))
            {
                result.AddError("Give the range: --from TIME --to TIME (or --name N --resume to continue a replay).");
            }

            if (result.ValueOrDefault(name) is { } n && string.IsNullOrWhiteSpace(n))
            {
                result.AddError("--name must not be empty.");
            }

            if (result.ValueOrDefault(rate) is { } r && (r <= 0 || !double.IsFinite(r)))
            {
                result.AddError("--rate must be a positive number of events per second.");
            }
        });

        CommandRunner.SetBody(command, global, async context =>
        {
            var cancellationToken = context.CancellationToken;
            var kafka = global.KafkaSettings(context.Parse);
            await using var session = await StoreSession.OpenAsync(global.StoreSettings(context.Parse), context.Logging, cancellationToken);
            var logger = context.Logging.CreateLogger("EventSourcing.SystemOfRecord.Cli.Republish");
            await kafka.CheckReachableAsync(null, logger, cancellationToken);
            await using var publisher = kafka.CreatePublisher(context.Logging);
            await using var host = SystemOfRecordHost.Create(session.Store, session.Increment, publisher, context.Logging);
            var sor = host.System;

            var given = context.Value(name);
            var replay = given ?? OneOffName(context.Value(from)!.Value, context.Value(to)!.Value);
            var existing = await sor.GetReplayCheckpointAsync(replay, cancellationToken);
            DateTime first, end;
            if (context.Value(resume))
            {
                if (existing is null)
                {
                    throw new CliException(ExitCodes.NotFound, $"There is no replay '{replay}' to resume (no checkpoint {CheckpointPrefix}{replay}).");
                }

                first = context.Value(from) is { } f ? session.BucketOf(f) : existing.From;
                end = context.Value(to) ?? existing.To;
                if (first != existing.From || end != existing.To)
                {
                    throw new CliException(
                        ExitCodes.Usage,
                        $"Replay '{replay}' covers {TimeText.Format(existing.From)} to {TimeText.Format(existing.To)}; resume it without --from and --to, or with that range.");
                }
            }
            else
            {
                if (existing is not null)
                {
                    throw new CliException(
                        ExitCodes.Refused,
                        $"Replay '{replay}' has a checkpoint already ({Describe(existing)}). Continue it with --resume, "
                        + $"pick another --name, or delete the checkpoint: sor checkpoints delete {CheckpointPrefix}{replay}");
                }

                first = session.BucketOf(context.Value(from)!.Value);
                end = context.Value(to)!.Value;
            }

            var options = new ManagedReplayOptions { MaxEventsPerSecond = context.Value(rate) };
            var output = context.Console.Output;
            output.MarkupLineInterpolated(
                $"Republishing [bold]{TimeText.Format(first)}[/] to [bold]{TimeText.Format(end)}[/] of {session.Description} to Kafka at {kafka.BootstrapServers} as replay [bold]{replay}[/]{(existing is null ? string.Empty : ", resuming at " + TimeText.Format(existing.NextBucket))}.");

            ReplayResult result;
            try
            {
                result = await output.Progress()
                    .AutoClear(false)
                    .Columns(new ProgressBarColumn(), new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new SpinnerColumn())
                    .StartAsync(async progress =>
                    {
                        var line = new ProgressLine(progress.AddTask("starting", maxValue: 1));
                        return await sor.RunReplayAsync(replay, first, end, options, line, cancellationToken);
                    });
            }
            catch (Exception ex)
            {
                // The replay wrote its checkpoint before it threw: say where it stands and how to go on.
                var checkpoint = await TryReadCheckpointAsync(sor, replay, logger);
                var stopped = cancellationToken.IsCancellationRequested && ex is OperationCanceledException;
                var state = $"; checkpoint {CheckpointPrefix}{replay}: {(checkpoint is null ? "none" : Describe(checkpoint))}.";
                output.MarkupLine((stopped ? "[yellow]Stopped[/]" : "[red]Failed[/]") + Markup.Escape(state));
                if (checkpoint is { IsComplete: false })
                {
                    output.MarkupLineInterpolated($"Continue with: [bold]sor republish --name {replay} --resume[/] (and the same store and Kafka options).");
                }

                if (stopped)
                {
                    return ExitCodes.Cancelled;
                }

                throw;
            }

            var rateText = result.Elapsed > TimeSpan.Zero ? (result.EventsDelivered / result.Elapsed.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture) : "-";
            output.MarkupLineInterpolated(
                $"[green]Done:[/] {result.EventsDelivered:N0} events republished over {result.BucketsTotal:N0} buckets in {TimeText.Format(TimeSpan.FromSeconds(Math.Round(result.Elapsed.TotalSeconds, 1)))} ({rateText} events/s){(result.ResumedFrom is { } resumed && resumed >= result.To ? "; the replay had already completed" : string.Empty)}.");
            if (given is null)
            {
                try
                {
                    await session.Checkpoints.DeleteCheckpointAsync(CheckpointPrefix + replay, CancellationToken.None);
                }
                catch (NotSupportedException)
                {
                    context.Console.WriteWarning($"{session.Description} cannot delete checkpoints yet; {CheckpointPrefix}{replay} stays (complete).");
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A checkpoint in words: its range and how far it got.</summary>
    public static string Describe(ReplayCheckpoint checkpoint) =>
        $"buckets {TimeText.Format(checkpoint.From)} to {TimeText.Format(checkpoint.To)}, "
        + (checkpoint.IsComplete
            ? "complete"
            : $"next bucket {TimeText.Format(checkpoint.NextBucket)}{(checkpoint.LastEventId is { } id ? $" after event {id}" : string.Empty)}");

    private static string OneOffName(DateTime from, DateTime to) => string.Create(
        CultureInfo.InvariantCulture,
        $"cli-{from:yyyyMMdd'T'HHmmss'Z'}-{to:yyyyMMdd'T'HHmmss'Z'}-{Guid.NewGuid().ToString("N")[..6]}");

    private static async Task<ReplayCheckpoint?> TryReadCheckpointAsync(SystemOfRecord sor, string replay, ILogger logger)
    {
        try
        {
            return await sor.GetReplayCheckpointAsync(replay, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.CheckpointUnreadable(logger, ex, replay);
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(9100, LogLevel.Warning, "The checkpoint of replay '{Replay}' could not be read after the replay stopped.")]
        public static partial void CheckpointUnreadable(ILogger logger, Exception exception, string replay);
    }
}
