using System.Runtime.CompilerServices;
using EventSourcing.SystemOfRecord.Tests.Support;
using Moq;

namespace EventSourcing.SystemOfRecord.Tests.Reconciliation;

public class SystemOfRecordReconciliationTests
{
    private static readonly DateTime Start = ReplayTestKit.Start;

    /// <summary>A downstream that keeps the ids it consumed, by bucket, as a read model would.</summary>
    private sealed class Downstream
    {
        private readonly Dictionary<DateTime, List<TimeUuid>> _ids = [];

        public List<DateTime> Asked { get; } = [];

        public void Add(DateTime bucket, TimeUuid id)
        {
            lock (_ids)
            {
                if (!_ids.TryGetValue(bucket, out var list))
                {
                    _ids[bucket] = list = [];
                }

                list.Add(id);
            }
        }

        public void Remove(RecordedEvent e)
        {
            lock (_ids)
            {
                _ids[e.TimeBucket].Remove(e.EventId);
            }
        }

        public async IAsyncEnumerable<TimeUuid> IdsAsync(DateTime bucket, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Asked.Add(bucket);
            TimeUuid[] ids;
            lock (_ids)
            {
                ids = _ids.TryGetValue(bucket, out var list) ? [.. list] : [];
            }

            foreach (var id in ids.Reverse())
            {
                await Task.Yield();
                yield return id;
            }
        }
    }

    [Test]
    public async Task ReconcileAsync_RangeEndsAtTheLastTime_ComparesItsLastBucketWithoutOverflowing()
    {
        using var kit = new ReplayTestKit();
        var downstream = new Downstream();
        var from = DateTime.SpecifyKind(DateTime.MaxValue.AddSeconds(-20), DateTimeKind.Utc);

        var report = await kit.Sor.ReconcileAsync(from, DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc), downstream.IdsAsync);

        Assert.Multiple(() =>
        {
            Assert.That(report.IsConsistent, Is.True);
            Assert.That(downstream.Asked, Has.Count.EqualTo(report.BucketsCompared).And.Count.GreaterThanOrEqualTo(2));
            Assert.That(downstream.Asked[^1], Is.EqualTo(kit.Sor.GetBucket(DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc))), "the last bucket before the end of time was compared");
        });
    }

    [Test]
    public async Task ReconcileAsync_DownstreamLacksSomeAndHoldsOthers_ReportsExactlyThoseIds()
    {
        using var kit = new ReplayTestKit();
        var e = await kit.SeedAsync([0, 3, 6, 16, 17, 18, 46, 47]);
        var downstream = new Downstream();
        foreach (var recorded in e.Where((_, i) => i is not 1 and not 5))
        {
            downstream.Add(recorded.TimeBucket, recorded.EventId);
        }

        downstream.Add(e[2].TimeBucket, e[2].EventId); // reported twice: still one id
        var foreignInEmptyBucket = TimeUuid.Create(new DateTimeOffset(Start.AddSeconds(31)));
        var foreignInBucket0 = TimeUuid.Create(new DateTimeOffset(Start.AddSeconds(1)));
        downstream.Add(Start.AddSeconds(30), foreignInEmptyBucket);
        downstream.Add(Start, foreignInBucket0);

        var report = await kit.Sor.ReconcileAsync(Start, Start.AddSeconds(60), downstream.IdsAsync);

        Assert.Multiple(() =>
        {
            Assert.That(downstream.Asked, Is.EqualTo(new[] { Start, Start.AddSeconds(15), Start.AddSeconds(30), Start.AddSeconds(45) }));
            Assert.That(report.Differences.Select(d => d.Bucket), Is.EqualTo(new[] { Start, Start.AddSeconds(15), Start.AddSeconds(30) }));
            Assert.That(report.Differences[0].Missing, Is.EqualTo(new[] { e[1].EventId }));
            Assert.That(report.Differences[0].Unexpected, Is.EqualTo(new[] { foreignInBucket0 }));
            Assert.That(report.Differences[1].Missing, Is.EqualTo(new[] { e[5].EventId }));
            Assert.That(report.Differences[1].Unexpected, Is.Empty);
            Assert.That(report.Differences[2].Missing, Is.Empty);
            Assert.That(report.Differences[2].Unexpected, Is.EqualTo(new[] { foreignInEmptyBucket }));
            Assert.That(report.MissingCount, Is.EqualTo(2));
            Assert.That(report.UnexpectedCount, Is.EqualTo(2));
            Assert.That(report.StoredEvents, Is.EqualTo(8));
            Assert.That(report.DownstreamEvents, Is.EqualTo(8));
            Assert.That(report.BucketsCompared, Is.EqualTo(4));
            Assert.That(report.From, Is.EqualTo(Start));
            Assert.That(report.To, Is.EqualTo(Start.AddSeconds(60)));
            Assert.That(report.IsConsistent, Is.False);
        });
    }

    [Test]
    public async Task ReconcileAsync_DownstreamHoldsExactlyTheStore_IsConsistent()
    {
        using var kit = new ReplayTestKit();
        var e = await kit.SeedAsync([0, 20, 21]);
        var downstream = new Downstream();
        e.ForEach(r => downstream.Add(r.TimeBucket, r.EventId));

        var report = await kit.Sor.ReconcileAsync(Start, Start.AddSeconds(30), downstream.IdsAsync);

        Assert.Multiple(() =>
        {
            Assert.That(report.IsConsistent, Is.True);
            Assert.That(report.Differences, Is.Empty);
            Assert.That(report.StoredEvents, Is.EqualTo(3));
            Assert.That(report.DownstreamEvents, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task RepublishAsync_RecordsDeletedOnTheBroker_RepublishesExactlyTheMissingAndMakesTheDownstreamWhole()
    {
        using var kit = new ReplayTestKit();
        var downstream = new Downstream();
        var consumed = new List<RecordedEvent>();
        kit.Publisher.Subscribe((r, _) =>
        {
            downstream.Add(r.TimeBucket, r.EventId);
            consumed.Add(r);
            return ValueTask.CompletedTask;
        });
        var e = await kit.SeedAsync([0, 1, 2, 15, 16, 40, 41, 42, 43]);
        var lost = new[] { e[0], e[4], e[6], e[8] };
        foreach (var r in lost)
        {
            downstream.Remove(r);
        }

        consumed.Clear();

        var report = await kit.Sor.ReconcileAsync(Start, Start.AddSeconds(45), downstream.IdsAsync);
        var republished = await kit.Sor.RepublishAsync(report);
        var after = await kit.Sor.ReconcileAsync(Start, Start.AddSeconds(45), downstream.IdsAsync);

        Assert.Multiple(() =>
        {
            Assert.That(report.Differences.SelectMany(d => d.Missing), Is.EqualTo(lost.Select(r => r.EventId)));
            Assert.That(report.UnexpectedCount, Is.Zero);
            Assert.That(republished, Is.EqualTo(4));
            Assert.That(kit.PublishedSnapshot(), Is.EqualTo(lost));
            Assert.That(consumed, Is.EqualTo(lost));
            Assert.That(after.IsConsistent, Is.True);
            Assert.That(after.DownstreamEvents, Is.EqualTo(9));
        });
    }

    [Test]
    public async Task RepublishAsync_ConsistentReport_PublishesNothing()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0, 1]);
        var report = new ReconciliationReport(Start, Start.AddSeconds(15), 1, 2, 2, []);

        var republished = await kit.Sor.RepublishAsync(report);

        Assert.That(republished, Is.Zero);
        Assert.That(kit.PublishedSnapshot(), Is.Empty);
    }

    [Test]
    public async Task RepublishAsync_PublisherRefusesForGood_ErrorSurfacesAtOnce()
    {
        var publisher = new Mock<IEventPublisher>();
        var store = new InMemoryEventStore();
        using var sor = new SystemOfRecord(store, publisher.Object, Microsoft.Extensions.Options.Options.Create(new SystemOfRecordOptions()));
        RecordedEvent recorded = new(Start, TimeUuid.Create(new DateTimeOffset(Start)), "events", null, "m");
        await store.EnsureCreatedAsync(SystemOfRecordOptions.DefaultBucketIncrement);
        await store.AppendAsync(recorded);
        publisher.Setup(p => p.PublishAsync(It.IsAny<RecordedEvent>(), It.IsAny<CancellationToken>()))
            .Returns(ValueTask.FromException(new SystemOfRecordException("topic not authorized")));
        var report = new ReconciliationReport(Start, Start.AddSeconds(15), 1, 1, 0, [new BucketDifference(Start, [recorded.EventId], [])]);

        Assert.That(async () => await sor.RepublishAsync(report), Throws.TypeOf<SystemOfRecordException>().With.Message.EqualTo("topic not authorized"));
        publisher.Verify(p => p.PublishAsync(recorded, It.IsAny<CancellationToken>()), Times.Once());
    }

    [Test]
    public async Task ReconcileAsync_Progress_EndsAtTheTotal()
    {
        using var kit = new ReplayTestKit();
        await kit.SeedAsync([0, 31]);
        var progress = new ListProgress<ReplayProgress>();
        var downstream = new Downstream();

        await kit.Sor.ReconcileAsync(Start, Start.AddSeconds(60), downstream.IdsAsync, progress);

        var reports = progress.Reports;
        Assert.That(reports.Select(r => r.BucketsCompleted), Is.EqualTo(new long[] { 1, 3, 4 }));
        Assert.That(reports[^1].BucketsTotal, Is.EqualTo(4));
        Assert.That(reports[^1].Events, Is.EqualTo(2));
    }

    [Test]
    public void ReconcileAsync_BadArguments_Throw()
    {
        using var kit = new ReplayTestKit();
        var downstream = new Downstream();

        Assert.Multiple(() =>
        {
            Assert.That(async () => await kit.Sor.ReconcileAsync(Start, Start, null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("downstreamIdsInBucket"));
            Assert.That(async () => await kit.Sor.ReconcileAsync(Start.AddSeconds(1), Start, downstream.IdsAsync), Throws.ArgumentException.With.Message.Contain("after it ends"));
            Assert.That(async () => await kit.Sor.ReconcileAsync(DateTime.SpecifyKind(Start, DateTimeKind.Unspecified), Start, downstream.IdsAsync),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("start"));
            Assert.That(async () => await kit.Sor.ReconcileAsync(Start, Start.AddSeconds(15), (_, _) => null!),
                Throws.InvalidOperationException.With.Message.Contain("null"));
            Assert.That(async () => await kit.Sor.RepublishAsync(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("report"));
        });
        Assert.That(downstream.Asked, Is.Empty);
    }
}
