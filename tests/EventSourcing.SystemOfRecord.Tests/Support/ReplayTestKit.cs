using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.SystemOfRecord.Tests.Support;

/// <summary>A system of record on an in-memory store and publisher with a fake clock, and helpers to seed it.</summary>
internal sealed class ReplayTestKit : IDisposable
{
    public static readonly DateTime Start = new(2024, 6, 1, 10, 0, 0, DateTimeKind.Utc);

    public ReplayTestKit(IEventStore? store = null, TimeProvider? clock = null, FakeTimeProvider? fakeClock = null)
    {
        Clock = fakeClock ?? new FakeTimeProvider(new DateTimeOffset(Start.AddMinutes(-1)));
        Store = new InMemoryEventStore();
        Publisher = new InMemoryEventPublisher();
        Publisher.Subscribe((e, _) =>
        {
            lock (Published)
            {
                Published.Add(e);
            }

            return ValueTask.CompletedTask;
        });
        Sor = new SystemOfRecord(store ?? Store, Publisher, Options.Create(new SystemOfRecordOptions { BucketIncrement = TimeSpan.FromSeconds(15) }),
            timeProvider: clock ?? Clock);
    }

    public FakeTimeProvider Clock { get; }

    public InMemoryEventStore Store { get; }

    public InMemoryEventPublisher Publisher { get; }

    public List<RecordedEvent> Published { get; } = [];

    public SystemOfRecord Sor { get; }

    /// <summary>Appends one event per offset (seconds after <see cref="Start"/>, ascending), keys cycling through <paramref name="keys"/>.</summary>
    public async Task<List<RecordedEvent>> SeedAsync(double[] secondsAfterStart, params string[] keys)
    {
        var appended = new List<RecordedEvent>();
        for (var i = 0; i < secondsAfterStart.Length; i++)
        {
            Clock.SetUtcNow(new DateTimeOffset(Start.AddSeconds(secondsAfterStart[i])));
            appended.Add(await Sor.AppendAsync($"m{i}", key: keys.Length == 0 ? null : keys[i % keys.Length]));
        }

        lock (Published)
        {
            Published.Clear();
        }

        return appended;
    }

    public List<RecordedEvent> PublishedSnapshot()
    {
        lock (Published)
        {
            return [.. Published];
        }
    }

    public void Dispose()
    {
        Sor.Dispose();
        Publisher.Dispose();
    }
}

/// <summary>Collects progress reports synchronously (<see cref="Progress{T}"/> would post them later).</summary>
internal sealed class ListProgress<T> : IProgress<T>
{
    private readonly List<T> _reports = [];

    public List<T> Reports
    {
        get
        {
            lock (_reports)
            {
                return [.. _reports];
            }
        }
    }

    public void Report(T value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }
    }
}

/// <summary>Records resets and applied events; runs <see cref="OnApply"/> after each apply.</summary>
internal sealed class RecordingProjection : IReloadableProjection
{
    public List<string> Calls { get; } = [];

    public List<RecordedEvent> Applied { get; } = [];

    public Func<RecordedEvent, Task>? OnApply { get; set; }

    public ValueTask ResetAsync(CancellationToken cancellationToken)
    {
        Calls.Add("reset");
        Applied.Clear();
        return ValueTask.CompletedTask;
    }

    public async ValueTask ApplyAsync(RecordedEvent recordedEvent, CancellationToken cancellationToken)
    {
        Calls.Add(recordedEvent.Message);
        Applied.Add(recordedEvent);
        if (OnApply is not null)
        {
            await OnApply(recordedEvent);
        }
    }
}
