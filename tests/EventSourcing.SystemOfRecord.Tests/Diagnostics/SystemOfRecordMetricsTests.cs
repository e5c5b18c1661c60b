using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.SystemOfRecord.Tests.Diagnostics;

public class SystemOfRecordMetricsTests
{
    [Test]
    public async Task Instruments_WithDependencyInjection_AreOnTheContainersMeterFromItsMeterFactory()
    {
        await using var first = Container();
        await using var second = Container();
        var seen = new List<(Meter Meter, string Instrument)>();
        using var listener = Listen(seen);

        await first.GetRequiredService<SystemOfRecord>().AppendAsync("m");
        await second.GetRequiredService<SystemOfRecord>().AppendAsync("m");

        var firstMeter = first.GetRequiredService<IMeterFactory>().Create(new MeterOptions(SystemOfRecordDiagnostics.Name));
        var secondMeter = second.GetRequiredService<IMeterFactory>().Create(new MeterOptions(SystemOfRecordDiagnostics.Name));
        List<Meter> appendedOn;
        lock (seen)
        {
            appendedOn = [.. seen.Where(s => s.Instrument == "sor.events.appended").Select(s => s.Meter)];
        }

        Assert.Multiple(() =>
        {
            Assert.That(firstMeter, Is.Not.SameAs(secondMeter), "each container has its own meter");
            Assert.That(appendedOn, Is.EquivalentTo(new[] { firstMeter, secondMeter }), "each system of record counts on its container's meter");
        });
    }

    [Test]
    public void For_SameFactoryTwice_OneMeterAndOneSetOfInstruments()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();

        var once = SystemOfRecordMetrics.For(factory);
        var twice = SystemOfRecordMetrics.For(factory);
        var firstSet = once.Instruments(_ => new List<int>());
        var secondSet = twice.Instruments(_ => new List<int>());

        Assert.Multiple(() =>
        {
            Assert.That(twice, Is.SameAs(once));
            Assert.That(once.Meter.Name, Is.EqualTo("EventSourcing.SystemOfRecord"));
            Assert.That(SystemOfRecordMetrics.For(null), Is.Not.SameAs(once), "without a factory, the process-wide meter");
            Assert.That(secondSet, Is.SameAs(firstSet), "a provider's instrument set is made once per meter");
        });
    }

    [Test]
    public void DurationHistograms_AdviseBucketsInSeconds()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meter = SystemOfRecordMetrics.For(provider.GetRequiredService<IMeterFactory>()).Meter;
        var histograms = new List<Histogram<double>>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter, meter) && instrument is Histogram<double> histogram)
                {
                    histograms.Add(histogram);
                }
            },
        };
        listener.Start();

        Assert.That(histograms.Select(h => h.Name), Is.EquivalentTo(new[] { "sor.append.duration", "sor.publish.duration" }));
        Assert.That(histograms.Select(h => h.Advice?.HistogramBucketBoundaries?.FirstOrDefault()), Is.All.EqualTo(0.001), "1 ms to 60 s, not the SDK's millisecond buckets");
    }

    private static ServiceProvider Container()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSystemOfRecord(o => o.InstanceName = "metrics-" + Guid.NewGuid().ToString("N")[..8]);
        return services.BuildServiceProvider();
    }

    private static MeterListener Listen(List<(Meter Meter, string Instrument)> seen)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SystemOfRecordDiagnostics.Name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, _, _) =>
        {
            lock (seen)
            {
                seen.Add((instrument.Meter, instrument.Name));
            }
        });
        listener.Start();
        return listener;
    }
}
