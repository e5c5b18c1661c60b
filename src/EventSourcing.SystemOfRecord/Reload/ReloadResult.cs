namespace EventSourcing.SystemOfRecord;

/// <summary>What a reload delivered.</summary>
public sealed class ReloadResult
{
    /// <summary>Creates a reload result.</summary>
    /// <param name="rangeEvents">Events of the requested range applied.</param>
    /// <param name="catchUpEvents">Events recorded during the reload (or after the range) applied by catch-up passes.</param>
    /// <param name="catchUpPasses">Catch-up passes run.</param>
    /// <param name="caughtUp">Whether the last catch-up pass found nothing new.</param>
    public ReloadResult(long rangeEvents, long catchUpEvents, int catchUpPasses, bool caughtUp)
    {
        RangeEvents = rangeEvents;
        CatchUpEvents = catchUpEvents;
        CatchUpPasses = catchUpPasses;
        CaughtUp = caughtUp;
    }

    /// <summary>Events of the requested range applied to the projection.</summary>
    public long RangeEvents { get; }

    /// <summary>Events applied by catch-up passes (0 without <see cref="ReloadOptions.CatchUp"/>).</summary>
    public long CatchUpEvents { get; }

    /// <summary>Every event applied: <see cref="RangeEvents"/> plus <see cref="CatchUpEvents"/>.</summary>
    public long TotalEvents => RangeEvents + CatchUpEvents;

    /// <summary>Catch-up passes run (0 without <see cref="ReloadOptions.CatchUp"/>).</summary>
    public int CatchUpPasses { get; }

    /// <summary>
    /// <see langword="true"/> when the last catch-up pass found nothing new; <see langword="false"/> when
    /// <see cref="ReloadOptions.MaxCatchUpPasses"/> ran out while events kept arriving. Always <see langword="false"/> without catch-up.
    /// </summary>
    public bool CaughtUp { get; }
}
