namespace EventSourcing.SystemOfRecord.Cassandra.Tests.Support;

/// <summary>Waits for a condition with a deadline, never a bare delay.</summary>
internal static class Eventually
{
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }
}
