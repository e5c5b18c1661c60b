namespace EventSourcing.SystemOfRecord;

/// <summary>The one place that turns a caller's <see cref="DateTime"/> into UTC.</summary>
internal static class UtcTime
{
    /// <summary>UTC stays, Local is converted, Unspecified is refused: a silent guess would shift replays by hours.</summary>
    public static DateTime Normalize(DateTime value, string paramName)
    {
        switch (value.Kind)
        {
            case DateTimeKind.Utc:
                return value;
            case DateTimeKind.Local:
                return value.ToUniversalTime();
            default:
                ThrowHelper.ThrowUnspecifiedKind(paramName);
                return default;
        }
    }
}
