using System.Globalization;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Support;

internal static class Time
{
    /// <summary>A time as a command line argument: ISO 8601 UTC.</summary>
    public static string Arg(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
