namespace EventSourcing.SystemOfRecord.Kafka.Tests.Support;

/// <summary>Waits for a condition with a deadline: never a bare delay.</summary>
internal static class Wait
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds} s waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }
}
