using EventSourcing.SystemOfRecord.Sqlite.Internal;
using EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Internal;

public sealed class SortableEventIdTests
{
    [Test]
    public void Decode_OfEncode_ReturnsTheSameId()
    {
        for (var i = 0; i < 1000; i++)
        {
            var id = i % 2 == 0 ? TestEvents.RandomId() : TimeUuid.Create();

            Assert.That(SortableEventId.Decode(SortableEventId.Encode(id)), Is.EqualTo(id));
        }
    }

    [Test]
    public void Encode_BytewiseOrder_MatchesCompareTo()
    {
        for (var i = 0; i < 5000; i++)
        {
            var a = TestEvents.RandomId();
            var b = i % 2 == 0 ? TestEvents.WithSameTimestamp(a) : TestEvents.RandomId();

            var bytewise = Math.Sign(SortableEventId.Encode(a).AsSpan().SequenceCompareTo(SortableEventId.Encode(b)));

            Assert.That(bytewise, Is.EqualTo(Math.Sign(a.CompareTo(b))), $"{a} vs {b}");
        }
    }

    [Test]
    public void Encode_MinAndMaxOfATimestamp_BracketEveryIdWithIt()
    {
        var at = new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var id = TimeUuid.Create(at);

        Assert.That(SortableEventId.Encode(TimeUuid.Min(at)).AsSpan().SequenceCompareTo(SortableEventId.Encode(id)), Is.LessThan(0));
        Assert.That(SortableEventId.Encode(TimeUuid.Max(at)).AsSpan().SequenceCompareTo(SortableEventId.Encode(id)), Is.GreaterThan(0));
    }

    [Test]
    public void Decode_WrongLength_ThrowsFormatException()
    {
        Assert.That(() => SortableEventId.Decode(new byte[15]), Throws.InstanceOf<FormatException>());
    }
}
