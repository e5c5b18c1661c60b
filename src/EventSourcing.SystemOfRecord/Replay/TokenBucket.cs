namespace EventSourcing.SystemOfRecord;

/// <summary>
/// A token bucket on a <see cref="TimeProvider"/>: holds up to <c>burst</c> tokens, refills at <c>rate</c> per second,
/// and each event takes one. Over any span of <c>t</c> seconds at most <c>burst + rate × t</c> tokens are taken.
/// Used by one caller at a time (a replay's reader).
/// </summary>
internal sealed class TokenBucket
{
    // Refills of whole tokens come out of floating point as 0.9999999...; a token that close counts as whole.
    private const double Epsilon = 1e-9;

    private readonly double _rate;
    private readonly double _burst;
    private readonly TimeProvider _clock;
    private double _tokens;
    private long _lastRefill;

    public TokenBucket(double ratePerSecond, int burst, TimeProvider clock)
    {
        _rate = ratePerSecond;
        _burst = burst;
        _clock = clock;
        _tokens = burst;
        _lastRefill = clock.GetTimestamp();
    }

    /// <summary>Takes one token, waiting on the clock for it when the bucket is empty.</summary>
    public async ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = _clock.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + ((now - _lastRefill) * _rate / _clock.TimestampFrequency));
            _lastRefill = now;
            if (_tokens >= 1 - Epsilon)
            {
                _tokens = Math.Max(0, _tokens - 1);
                return;
            }

            var wait = TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling((1 - _tokens) / _rate * TimeSpan.TicksPerSecond)));
            await Task.Delay(wait, _clock, cancellationToken).ConfigureAwait(false);
        }
    }
}
