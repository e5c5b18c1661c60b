using System.CommandLine;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Stores;

namespace EventSourcing.SystemOfRecord.Cli.Read;

/// <summary><c>sor read --bucket T | --from --to [--topic] [--key] [--limit]</c>: stored events as JSON lines.</summary>
internal static class ReadCommand
{
    public static Command Create(GlobalOptions global)
    {
        var command = new Command("read", "Print stored events as JSON lines (one event per line, every field), in bucket then event id order.");
        global.RequireStore(command);
        var bucket = Arguments.Time("--bucket", "Read the one bucket that holds this time", global.Console);
        var (from, to) = Arguments.Range(command, global.Console, "to read", required: false);
        var topic = new Option<string?>("--topic") { Description = "Only events of this topic.", HelpName = "TOPIC" };
        var key = new Option<string?>("--key") { Description = "Only events with this key.", HelpName = "KEY" };
        var limit = new Option<long?>("--limit") { Description = "Stop after this many events.", HelpName = "N" };
        command.Options.Add(bucket);
        command.Options.Add(topic);
        command.Options.Add(key);
        command.Options.Add(limit);
        command.Validators.Add(result =>
        {
            var hasBucket = result.IsGiven(bucket);
            var hasRange = result.IsGiven(from) || result.IsGiven(to);
            if (hasBucket == hasRange)
            {
                result.AddError("Give either --bucket TIME, or --from TIME --to TIME.");
            }
            else if (hasRange && !(result.IsGiven(from) && result.IsGiven(to)))
            {
                result.AddError("A range needs both --from and --to.");
            }

            if (result.ValueOrDefault(limit) is < 1)
            {
                result.AddError("--limit must be at least 1.");
            }
        });

        CommandRunner.SetBody(command, global, async context =>
        {
            await using var session = await StoreSession.OpenAsync(global.StoreSettings(context.Parse), context.Logging, context.CancellationToken);
            var events = context.Value(bucket) is { } time
                ? session.Store.ReadBucketAsync(session.BucketOf(time), context.CancellationToken)
                : session.Store.ReadRangeAsync(session.BucketOf(context.Value(from)!.Value), context.Value(to)!.Value, context.CancellationToken);
            var onlyTopic = context.Value(topic);
            var onlyKey = context.Value(key);
            var left = context.Value(limit) ?? long.MaxValue;
            var json = new EventJson();
            var output = context.Console.RawOutput;
            await foreach (var recorded in events)
            {
                if ((onlyTopic is null || recorded.Topic == onlyTopic) && (onlyKey is null || recorded.Key == onlyKey))
                {
                    await output.WriteLineAsync(json.Format(recorded).AsMemory(), context.CancellationToken);
                    if (--left == 0)
                    {
                        break;
                    }
                }
            }

            await output.FlushAsync(context.CancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}
