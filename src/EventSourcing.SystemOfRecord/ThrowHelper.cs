using System.Diagnostics.CodeAnalysis;

namespace EventSourcing.SystemOfRecord;

/// <summary>Throw sites kept out of line so the callers' hot paths stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowArgument(string paramName, string message) => throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName, object? actualValue, string message) =>
        throw new ArgumentOutOfRangeException(paramName, actualValue, message);

    [DoesNotReturn]
    public static void ThrowUnspecifiedKind(string paramName) =>
        throw new ArgumentException(
            "The DateTime has DateTimeKind.Unspecified. Pass a UTC time (DateTime.SpecifyKind(value, DateTimeKind.Utc) or a DateTimeOffset): "
            + "guessing the zone would shift replays by hours.",
            paramName);
}
