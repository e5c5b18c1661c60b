using System.Globalization;

namespace EventSourcing.SystemOfRecord;

/// <summary>
/// What an instance keeps in the store under <c>publish-cursor/{instance}</c>: who holds the name, its cursor (every
/// event of the instance up to it is published), the highest time its ids may carry, and whether the holder let go.
/// Every write changes <see cref="Sequence"/>, so a watcher can tell a live holder from a dead one without trusting clocks.
/// </summary>
internal sealed record PublishCursorRecord(string Owner, long Sequence, TimeUuid Cursor, DateTimeOffset ReservedUntil, bool Released)
{
    public const string NamePrefix = "publish-cursor/";

    private const string Version = "v1";

    public static string NameOf(string instance) => NamePrefix + instance;

    public string Format() => string.Join(
        ' ',
        Version,
        "owner=" + Owner,
        "seq=" + Sequence.ToString(CultureInfo.InvariantCulture),
        "cursor=" + Cursor,
        "reserved=" + ReservedUntil.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        "state=" + (Released ? "released" : "live"));

    /// <summary>Reads a record written by <see cref="Format"/>.</summary>
    /// <exception cref="FormatException">The text is not such a record.</exception>
    public static PublishCursorRecord Parse(string name, string text)
    {
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 6 || fields[0] != Version)
        {
            throw Unreadable(name, text);
        }

        string Field(int index, string key) =>
            fields[index].StartsWith(key + "=", StringComparison.Ordinal) ? fields[index][(key.Length + 1)..] : throw Unreadable(name, text);

        if (!long.TryParse(Field(2, "seq"), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || !TimeUuid.TryParse(Field(3, "cursor"), out var cursor)
            || !DateTimeOffset.TryParse(Field(4, "reserved"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var reserved)
            || Field(5, "state") is not ("live" or "released"))
        {
            throw Unreadable(name, text);
        }

        return new PublishCursorRecord(Field(1, "owner"), sequence, cursor, reserved, Field(5, "state") == "released");
    }

    private static FormatException Unreadable(string name, string text) =>
        new($"The checkpoint '{name}' does not hold a publish cursor this version can read: '{text}'.");
}
