using System.Collections.Concurrent;

namespace EventSourcing.SystemOfRecord.Tests.Model;

public class TimeUuidTests
{
    // A version-1 UUID whose fields were worked out by hand: 60-bit time 0x1d8_7c1f_2f3a_4b5c,
    // clock sequence 0x0123 with variant 10, node 0x0a0b0c0d0e0f.
    private const string Known = "2f3a4b5c-7c1f-11d8-8123-0a0b0c0d0e0f";

    [Test]
    public void Create_ManyCallsInOneTick_StrictlyIncreasing()
    {
        var ids = Enumerable.Range(0, 100_000).Select(_ => TimeUuid.Create()).ToArray();

        for (var i = 1; i < ids.Length; i++)
        {
            Assert.That(ids[i], Is.GreaterThan(ids[i - 1]), $"id {i} does not follow id {i - 1}");
        }
    }

    [Test]
    public void Create_FromManyThreads_AllDistinctAndEachThreadIncreasing()
    {
        var all = new ConcurrentBag<TimeUuid>();
        var increasing = true;
        Parallel.For(0, 8, _ =>
        {
            var previous = TimeUuid.Create();
            all.Add(previous);
            for (var i = 0; i < 20_000; i++)
            {
                var next = TimeUuid.Create();
                increasing &= next > previous;
                previous = next;
                all.Add(next);
            }
        });

        Assert.Multiple(() =>
        {
            Assert.That(all.Distinct().Count(), Is.EqualTo(all.Count));
            Assert.That(increasing, Is.True);
        });
    }

    [Test]
    public void Create_Now_CarriesCurrentTime()
    {
        var before = DateTimeOffset.UtcNow;
        var id = TimeUuid.Create();
        var after = DateTimeOffset.UtcNow;

        Assert.That(id.GetTimestamp(), Is.InRange(before.AddMilliseconds(-1), after.AddMilliseconds(1)));
    }

    [Test]
    public void Create_WithTimestamp_CarriesExactly100NsPrecision()
    {
        var t = new DateTimeOffset(2025, 7, 14, 9, 26, 53, TimeSpan.FromHours(2)).AddTicks(1234567);

        var id = TimeUuid.Create(t);

        Assert.Multiple(() =>
        {
            Assert.That(id.GetTimestamp(), Is.EqualTo(t));
            Assert.That(id.GetTimestamp().Offset, Is.EqualTo(TimeSpan.Zero));
            Assert.That(id.GetTimestamp().UtcTicks, Is.EqualTo(t.UtcTicks));
        });
    }

    [Test]
    public void Create_SameTimestampTwice_DistinctIds()
    {
        var t = DateTimeOffset.UnixEpoch;
        var first = TimeUuid.Create(t);
        var second = TimeUuid.Create(t);

        Assert.Multiple(() =>
        {
            Assert.That(second, Is.Not.EqualTo(first));
            Assert.That(second.GetTimestamp(), Is.EqualTo(first.GetTimestamp()));
        });
    }

    [Test]
    public void Create_OutOfRange_Throws()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => TimeUuid.Create(new DateTimeOffset(1582, 10, 14, 0, 0, 0, TimeSpan.Zero)), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => TimeUuid.Create(DateTimeOffset.MaxValue), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(TimeUuid.Create(new DateTimeOffset(1582, 10, 15, 0, 0, 0, TimeSpan.Zero)).GetTimestamp().Year, Is.EqualTo(1582));
        });
    }

    [Test]
    public void Create_Layout_IsVersion1Rfc4122VariantWithMulticastNode()
    {
        var bytes = TimeUuid.Create().ToByteArray();

        Assert.Multiple(() =>
        {
            Assert.That(bytes[6] >> 4, Is.EqualTo(1), "version");
            Assert.That(bytes[8] >> 6, Is.EqualTo(0b10), "variant");
            Assert.That(bytes[10] & 1, Is.EqualTo(1), "multicast bit of a random node");
        });
    }

    [Test]
    public void Parse_KnownValue_ExposesFieldsAndRoundTrips()
    {
        var id = TimeUuid.Parse(Known);
        var expectedTicks = 0x1d8_7c1f_2f3a_4b5cL + new DateTimeOffset(1582, 10, 15, 0, 0, 0, TimeSpan.Zero).UtcTicks;

        Assert.Multiple(() =>
        {
            Assert.That(id.ToString(), Is.EqualTo(Known));
            Assert.That(id.GetTimestamp().UtcTicks, Is.EqualTo(expectedTicks));
            Assert.That(id.ToByteArray(), Is.EqualTo(Convert.FromHexString(Known.Replace("-", ""))));
        });
    }

    [Test]
    public void Parse_UpperCase_Accepted()
    {
        Assert.That(TimeUuid.Parse(Known.ToUpperInvariant()), Is.EqualTo(TimeUuid.Parse(Known)));
    }

    [TestCase("")]
    [TestCase("not a uuid")]
    [TestCase("2f3a4b5c7c1f11d881230a0b0c0d0e0f")]
    [TestCase("{2f3a4b5c-7c1f-11d8-8123-0a0b0c0d0e0f}")]
    [TestCase("2f3a4b5c-7c1f-41d8-8123-0a0b0c0d0e0f")]
    [TestCase("2f3a4b5c-7c1f-11d8-8123-0a0b0c0d0e0g")]
    [TestCase("2f3a4b5c+7c1f-11d8-8123-0a0b0c0d0e0f")]
    public void TryParse_NotCanonicalVersion1_ReturnsFalse(string text)
    {
        Assert.Multiple(() =>
        {
            Assert.That(TimeUuid.TryParse(text, out _), Is.False);
            Assert.That(() => TimeUuid.Parse(text), Throws.InstanceOf<FormatException>().With.Message.Contain("version-1"));
        });
    }

    [Test]
    public void TryParse_Null_ReturnsFalse()
    {
        Assert.That(TimeUuid.TryParse((string?)null, out _), Is.False);
    }

    [Test]
    public void ToByteArray_IsNetworkOrderUnlikeGuid()
    {
        var id = TimeUuid.Parse(Known);
        var guidBytes = Guid.Parse(Known).ToByteArray();

        Assert.Multiple(() =>
        {
            Assert.That(id.ToByteArray()[0], Is.EqualTo(0x2f));
            Assert.That(id.ToByteArray(), Is.Not.EqualTo(guidBytes), "Guid.ToByteArray is mixed-endian");
            Assert.That(new TimeUuid(id.ToByteArray()), Is.EqualTo(id));
        });
    }

    [Test]
    public void Constructor_WrongLengthOrVersion_Throws()
    {
        var version4 = Convert.FromHexString("2f3a4b5c7c1f41d881230a0b0c0d0e0f");

        Assert.Multiple(() =>
        {
            Assert.That(() => new TimeUuid(new byte[15]), Throws.ArgumentException.With.Message.Contain("16 bytes"));
            Assert.That(() => new TimeUuid(version4), Throws.ArgumentException.With.Message.Contain("version-1"));
        });
    }

    [Test]
    public void CompareTo_OrdersByTimestampBeforeOtherBytes()
    {
        // time_low sorts first in the byte layout, so a byte-wise comparison would get this wrong.
        var earlier = TimeUuid.Create(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(0xFFFF));
        var later = TimeUuid.Create(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(0x1_0000_0000));

        Assert.Multiple(() =>
        {
            Assert.That(earlier, Is.LessThan(later));
            Assert.That(string.CompareOrdinal(earlier.ToString(), later.ToString()), Is.GreaterThan(0), "the string order differs, so this test means something");
        });
    }

    [Test]
    public void CompareTo_SameTimestamp_ComparesLowBytesAsSignedBytesLikeCassandra()
    {
        // Cassandra's TimeUUIDType compares the clock-sequence and node bytes as signed bytes: 0x80.. < 0x7f...
        var low = TimeUuid.Parse("2f3a4b5c-7c1f-11d8-8000-000000000000");
        var high = TimeUuid.Parse("2f3a4b5c-7c1f-11d8-7fff-000000000000");

        Assert.That(low, Is.LessThan(high));
    }

    [Test]
    public void MinAndMax_BracketEveryIdOfTheirTimestamp()
    {
        var t = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 1000).Select(_ => TimeUuid.Create(t)).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(ids, Is.All.GreaterThan(TimeUuid.Min(t)));
            Assert.That(ids, Is.All.LessThan(TimeUuid.Max(t)));
            Assert.That(TimeUuid.Max(t.AddTicks(-1)), Is.LessThan(TimeUuid.Min(t)));
            Assert.That(TimeUuid.Min(t).GetTimestamp(), Is.EqualTo(t));
            Assert.That(TimeUuid.Max(t).GetTimestamp(), Is.EqualTo(t));
        });
    }

    [Test]
    public void Equality_OperatorsAndHashCodeAgree()
    {
        var a = TimeUuid.Parse(Known);
        var b = TimeUuid.Parse(Known);
        var c = TimeUuid.Create();

        Assert.Multiple(() =>
        {
            Assert.That(a == b, Is.True);
            Assert.That(a != c, Is.True);
            Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
            Assert.That(a.Equals((object)b), Is.True);
            Assert.That(a <= b && a >= b, Is.True);
        });
    }
}
