using EventSourcing.SystemOfRecord.Benchmarks.Harness;

namespace EventSourcing.SystemOfRecord.Benchmarks.Scenarios;

/// <summary>A consumer's handler with and without IdempotentEventHandler + InMemoryProcessedEventLog, every event new.</summary>
internal static class Idempotency
{
    public const string Name = "Idempotent consumer";

    public static async Task<(Result Bare, Result Idempotent)> RunAsync(Settings settings)
    {
        var now = DateTime.UtcNow;
        var bucket = now.AddTicks(-(now.Ticks % Workload.Increment.Ticks));
        var events = new RecordedEvent[settings.IdempotentEvents];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = new RecordedEvent(bucket, TimeUuid.Create(), Workload.Topic, Workload.Key(i), "{}");
        }

        long applied = 0;
        ValueTask Bare(RecordedEvent e, CancellationToken cancellationToken)
        {
            applied += e.Message.Length;
            return ValueTask.CompletedTask;
        }

        // Warm-up both paths on events the measured runs do not see.
        var warm = new IdempotentEventHandler(Bare, new InMemoryProcessedEventLog());
        for (var i = 0; i < 10_000; i++)
        {
            var e = new RecordedEvent(bucket, TimeUuid.Create(), Workload.Topic, null, "{}");
            await Bare(e, default);
            await warm.HandleAsync(e, default);
        }

        Result bare;
        using (var meter = RunMeter.Start())
        {
            foreach (var e in events)
            {
                await Bare(e, CancellationToken.None);
            }

            bare = meter.Stop(Name, "bare handler", Role.Raw, events.Length, note: "a delegate that applies the event");
        }

        var handler = new IdempotentEventHandler(Bare, new InMemoryProcessedEventLog(capacity: Math.Max(1_000_000, events.Length)));
        Result idempotent;
        using (var meter = RunMeter.Start())
        {
            foreach (var e in events)
            {
                await handler.HandleAsync(e, CancellationToken.None);
            }

            idempotent = meter.Stop(Name, "IdempotentEventHandler + InMemoryProcessedEventLog", Role.Ours, events.Length, note: "every event is new: check, apply, mark; the pre-built events (and the log's ids) are live during the run, hence the heap");
        }

        if (handler.HandledCount != events.Length)
        {
            throw new InvalidOperationException($"Handled {handler.HandledCount} of {events.Length}.");
        }

        GC.KeepAlive(applied);
        return (bare, idempotent);
    }
}
