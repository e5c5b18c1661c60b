namespace EventSourcing.SystemOfRecord.Tests.ManagedReplay;

public class ReplayCheckpointTests
{
    private static readonly DateTime From = new(2024, 6, 1, 10, 0, 0, DateTimeKind.Utc);

    [Test]
    public void Format_ThenParse_RoundTripsEveryField()
    {
        var id = TimeUuid.Create(new DateTimeOffset(From.AddSeconds(20)));
        var checkpoint = new ReplayCheckpoint("june", From, From.AddHours(1).AddSeconds(7), From.AddSeconds(15), id);

        var parsed = ReplayCheckpoint.Parse("june", checkpoint.Format());

        Assert.Multiple(() =>
        {
            Assert.That(parsed.Name, Is.EqualTo("june"));
            Assert.That(parsed.From, Is.EqualTo(From));
            Assert.That(parsed.To, Is.EqualTo(From.AddHours(1).AddSeconds(7)));
            Assert.That(parsed.NextBucket, Is.EqualTo(From.AddSeconds(15)));
            Assert.That(parsed.NextBucket.Kind, Is.EqualTo(DateTimeKind.Utc));
            Assert.That(parsed.LastEventId, Is.EqualTo(id));
            Assert.That(parsed.IsComplete, Is.False);
        });
    }

    [Test]
    public void Parse_NoLastEventAndComplete_ReadsNullAndComplete()
    {
        var checkpoint = new ReplayCheckpoint("done", From, From.AddMinutes(1), From.AddMinutes(1), null);

        var parsed = ReplayCheckpoint.Parse("done", checkpoint.Format());

        Assert.That(parsed.LastEventId, Is.Null);
        Assert.That(parsed.IsComplete, Is.True);
    }

    [TestCase("")]
    [TestCase("v2 from=2024-06-01T10:00:00.0000000Z to=2024-06-01T11:00:00.0000000Z next=2024-06-01T10:00:00.0000000Z after=-")]
    [TestCase("v1 from=2024-06-01T10:00:00.0000000Z to=2024-06-01T11:00:00.0000000Z after=-")]
    [TestCase("v1 from=2024-06-01T10:00:00 to=2024-06-01T11:00:00.0000000Z next=2024-06-01T10:00:00.0000000Z after=-")]
    [TestCase("v1 from=2024-06-01T10:00:00.0000000Z to=2024-06-01T11:00:00.0000000Z next=2024-06-01T10:00:00.0000000Z after=xyz")]
    [TestCase("v1 garbage")]
    public void Parse_NotACheckpoint_ThrowsNamingTheReplay(string value)
    {
        Assert.That(() => ReplayCheckpoint.Parse("r", value), Throws.InvalidOperationException.With.Message.Contain("'r'"));
    }
}
