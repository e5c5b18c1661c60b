namespace EventSourcing.SystemOfRecord.Tests.Model;

public class RecordedEventTests
{
    private static readonly DateTime Bucket = new(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    [Test]
    public void Equals_HeadersWithSameContent_AreEqual()
    {
        var id = TimeUuid.Create();
        var a = new RecordedEvent(Bucket, id, "t", "k", "m", new Dictionary<string, string> { ["a"] = "1" });
        var b = new RecordedEvent(Bucket, id, "t", "k", "m", new Dictionary<string, string> { ["a"] = "1" });
        var c = new RecordedEvent(Bucket, id, "t", "k", "m", new Dictionary<string, string> { ["a"] = "2" });

        Assert.Multiple(() =>
        {
            Assert.That(a, Is.EqualTo(b));
            Assert.That(a, Is.Not.EqualTo(c));
            Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        });
    }

    [Test]
    public void Constructor_NoHeaders_HeadersEmptyNotNull()
    {
        var e = new RecordedEvent(Bucket, TimeUuid.Create(), "t", null, "m");

        Assert.That(e.Headers, Is.Not.Null.And.Empty);
    }

    [Test]
    public void Timestamp_IsTheEventIdsTimeInUtc()
    {
        var t = new DateTimeOffset(2024, 1, 1, 0, 0, 7, TimeSpan.Zero).AddTicks(3);
        var e = new RecordedEvent(Bucket, TimeUuid.Create(t), "t", null, "m");

        Assert.Multiple(() =>
        {
            Assert.That(e.Timestamp, Is.EqualTo(t.UtcDateTime));
            Assert.That(e.Timestamp.Kind, Is.EqualTo(DateTimeKind.Utc));
        });
    }

    [Test]
    public void Constructor_BadArguments_Throw()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new RecordedEvent(Bucket, TimeUuid.Create(), null!, null, "m"), Throws.ArgumentNullException);
            Assert.That(() => new RecordedEvent(Bucket, TimeUuid.Create(), "t", null, null!), Throws.ArgumentNullException);
            Assert.That(() => new RecordedEvent(DateTime.SpecifyKind(Bucket, DateTimeKind.Unspecified), TimeUuid.Create(), "t", null, "m"),
                Throws.ArgumentException.With.Message.Contain("UTC"));
        });
    }
}
