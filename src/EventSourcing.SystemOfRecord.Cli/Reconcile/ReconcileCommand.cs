using System.CommandLine;
using System.Globalization;
using EventSourcing.SystemOfRecord.Cli.CommandLine;
using EventSourcing.SystemOfRecord.Cli.Kafka;
using EventSourcing.SystemOfRecord.Cli.Stores;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace EventSourcing.SystemOfRecord.Cli.Reconcile;

/// <summary>
/// <c>sor reconcile --from --to --topic T [--repair] [--json]</c>: compares, bucket by bucket, the events the store
/// holds for topic T with the CloudEvents ids the topic holds (<see cref="SystemOfRecord.ReconcileAsync(DateTime, DateTime, Func{DateTime, CancellationToken, IAsyncEnumerable{TimeUuid}}, IProgress{ReplayProgress}?, CancellationToken)"/>),
/// prints what is missing or unexpected per bucket, and with --repair republishes exactly the missing events.
/// </summary>
internal static class ReconcileCommand
{
    /// <summary>How far before the range the topic is read: a record is stamped when it is produced, which can trail the event's time (clock skew, a slow publish) but never precede it by much.</summary>
    public static readonly TimeSpan DefaultSeekMargin = TimeSpan.FromMinutes(5);

    /// <summary>Buckets listed in the table; the JSON lists all.</summary>
    public const int TableRows = 50;

    public static Command Create(GlobalOptions global)
    {
        var command = new Command("reconcile", "Compare the events the store holds for a topic with the CloudEvents ids the Kafka topic holds, bucket by bucket; exit code 1 when they differ. --repair republishes exactly the missing events.");
        global.RequireStore(command);
        global.RequireKafka(command);
        var (from, to) = Arguments.Range(command, global.Console, "to compare");
        var topic = new Option<string>("--topic") { Description = "The Kafka topic to compare (the store's events of this topic).", HelpName = "TOPIC", Required = true };
        var repair = new Option<bool>("--repair") { Description = "Republish the events the topic lacks (unexpected ids cannot be repaired: they are only reported)." };
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON object, every differing id included." };
        var seekMargin = Arguments.Duration("--seek-margin", "Read the topic from this long before the range start (records are stamped when produced).", DefaultSeekMargin);
        var endMargin = Arguments.Duration("--end-margin", "Stop reading a partition at its first record stamped this long after the range end, instead of at its end (faster on a long topic; copies republished later are then not seen).");
        command.Options.Add(topic);
        command.Options.Add(repair);
        command.Options.Add(json);
        command.Options.Add(seekMargin);
        command.Options.Add(endMargin);

        CommandRunner.SetBody(command, global, async context =>
        {
            var cancellationToken = context.CancellationToken;
            var topicName = context.Value(topic)!;
            var kafka = global.KafkaSettings(context.Parse);
            var logger = context.Logging.CreateLogger("EventSourcing.SystemOfRecord.Cli.Reconcile");
            await using var session = await StoreSession.OpenAsync(global.StoreSettings(context.Parse), context.Logging, cancellationToken);
            var partitions = await kafka.CheckReachableAsync(topicName, logger, cancellationToken);
            var first = session.BucketOf(context.Value(from)!.Value);
            var end = context.Value(to)!.Value;
            var asJson = context.Value(json);
            var status = asJson ? context.Console.Error : context.Console.Output;

            var ids = await status.Status().StartAsync(
                $"Reading topic {Markup.Escape(topicName)} ({partitions.Count} partitions)",
                progress => TopicEventIds.ReadAsync(
                    kafka,
                    topicName,
                    partitions,
                    first,
                    end,
                    session.Increment.Ticks,
                    context.Value(seekMargin) ?? DefaultSeekMargin,
                    context.Value(endMargin),
                    read => progress.Status(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"Reading topic {topicName}: {read:N0} records"))),
                    logger,
                    cancellationToken));

            // Only the store's events of this topic take part: the comparison and the repair both read through the filter.
            var store = new TopicFilteredStore(session.Store, topicName);
            await using var publisher = context.Value(repair) ? kafka.CreatePublisher(context.Logging) : null;
            await using var host = SystemOfRecordHost.Create(store, session.Increment, publisher, context.Logging);
            var report = await host.System.ReconcileAsync(first, end, (bucket, _) => ids.InBucket(bucket), progress: null, cancellationToken);

            long? repaired = null;
            if (context.Value(repair) && report.MissingCount > 0)
            {
                repaired = await host.System.RepublishAsync(report, cancellationToken);
            }

            if (asJson)
            {
                context.Console.RawOutput.WriteLine(ReconcileJson.Format(report, topicName, session.Description, ids, repaired));
            }
            else
            {
                Write(context.Console.Output, report, topicName, session.Description, ids, repaired);
            }

            var unresolved = report.UnexpectedCount > 0 || (report.MissingCount > 0 && repaired != report.MissingCount);
            return unresolved ? ExitCodes.Differences : ExitCodes.Success;
        });
        return command;
    }

    private static void Write(IAnsiConsole console, ReconciliationReport report, string topic, string store, TopicEventIds ids, long? repaired)
    {
        var summary = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        summary.AddRow("Store", Markup.Escape(store));
        summary.AddRow("Topic", Markup.Escape(topic) + string.Create(CultureInfo.InvariantCulture, $" ({ids.Partitions} partitions, {ids.RecordsRead:N0} records read, {ids.IdsInRange:N0} in the range)"));
        summary.AddRow("Range", $"{TimeText.Format(report.From)} to {TimeText.Format(report.To)} (end exclusive), {N(report.BucketsCompared)} buckets");
        summary.AddRow("Stored events", N(report.StoredEvents));
        summary.AddRow("Distinct ids on the topic", N(report.DownstreamEvents));
        summary.AddRow("Missing on the topic", report.MissingCount == 0 ? "[green]0[/]" : $"[red]{N(report.MissingCount)}[/]");
        summary.AddRow("Unexpected on the topic", report.UnexpectedCount == 0 ? "[green]0[/]" : $"[red]{N(report.UnexpectedCount)}[/]");
        if (ids.RecordsWithoutId > 0)
        {
            summary.AddRow("Records without a ce_id", $"[yellow]{N(ids.RecordsWithoutId)}[/] (ignored)");
        }

        console.Write(summary);
        console.WriteLine();
        if (report.IsConsistent)
        {
            console.MarkupLine("[green]The topic holds exactly the stored events of the range.[/]");
            return;
        }

        var table = new Table().Border(TableBorder.Rounded).Title("Buckets that differ")
            .AddColumn("Bucket (UTC)").AddColumn(new TableColumn("Missing").RightAligned()).AddColumn(new TableColumn("Unexpected").RightAligned());
        foreach (var difference in report.Differences.Take(TableRows))
        {
            table.AddRow(TimeText.Format(difference.Bucket), N(difference.Missing.Count), N(difference.Unexpected.Count));
        }

        if (report.Differences.Count > TableRows)
        {
            table.AddRow($"[grey]... {N(report.Differences.Count - TableRows)} more buckets (--json lists all)[/]", string.Empty, string.Empty);
        }

        table.AddRow("[bold]Total[/]", $"[bold]{N(report.MissingCount)}[/]", $"[bold]{N(report.UnexpectedCount)}[/]");
        console.Write(table);
        if (repaired is { } count)
        {
            console.MarkupLineInterpolated($"[green]Repaired:[/] republished {count:N0} of the {report.MissingCount:N0} missing events to {topic}.");
        }
        else if (report.MissingCount > 0)
        {
            console.MarkupLine("Run again with [bold]--repair[/] to republish the missing events.");
        }

        if (report.UnexpectedCount > 0)
        {
            console.MarkupLine("[yellow]Unexpected ids are events the store does not hold for this topic (another producer, or a store that lost data); --json lists them.[/]");
        }
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
