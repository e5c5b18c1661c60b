using System.Globalization;

namespace EventSourcing.SystemOfRecord.Sqlite.Tests.Support;

/// <summary>
/// A counter kept in a checkpoint and moved on only by compare-and-set: read it, try to replace it with the next
/// number. If two writers could both win from one value, an increment would be lost and the count would fall short.
/// </summary>
internal static class CasCounter
{
    /// <summary>Increments <paramref name="name"/> until this caller has won <paramref name="increments"/> times; returns its wins and lost races.</summary>
    public static async Task<(int Won, int Lost)> IncrementAsync(ICheckpointStore store, string name, int increments)
    {
        int won = 0, lost = 0;
        while (won < increments)
        {
            var current = await store.ReadCheckpointAsync(name) ?? throw new InvalidOperationException($"The counter {name} does not exist.");
            var next = (long.Parse(current, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
            if (await store.TryReplaceCheckpointAsync(name, current, next))
            {
                won++;
            }
            else
            {
                lost++;
            }
        }

        return (won, lost);
    }
}
