namespace EventSourcing.SystemOfRecord.Cli.Stats;

/// <summary>
/// What a range of the store holds, gathered in one streaming pass over its events (in bucket order): counts per
/// bucket, the largest buckets, buckets over the 100 000 events guidance, events per topic and per chart bar.
/// Memory stays flat: one count per chart bar and a few kept buckets, whatever the range.
/// </summary>
internal sealed class RangeStatistics
{
    /// <summary>The guidance for one bucket: keep it well under this many events (pick a smaller increment otherwise).</summary>
    public const long BucketGuidance = 100_000;

    /// <summary>How many of the largest buckets are kept.</summary>
    public const int LargestKept = 10;

    /// <summary>How many buckets over the guidance are listed (all are counted).</summary>
    public const int OverGuidanceListed = 50;

    /// <summary>How many topics are counted one by one; events of later topics count under "(other topics)".</summary>
    public const int TopicsKept = 100;

    private readonly PriorityQueue<(DateTime Bucket, long Events), long> _largest = new();
    private readonly List<(DateTime Bucket, long Events)> _overGuidance = [];
    private readonly Dictionary<string, long> _topics = new(StringComparer.Ordinal);
    private DateTime? _currentBucket;
    private long _currentCount;

    public RangeStatistics(DateTime firstBucket, DateTime end, TimeSpan increment)
    {
        FirstBucket = firstBucket;
        End = end;
        Increment = increment;
        BucketsInRange = TimeBuckets.Count(firstBucket, end, increment.Ticks);
        Scale = ChartScale.For(firstBucket, end, increment);
        EventsPerBar = new long[Scale.Bars];
    }

    public DateTime FirstBucket { get; }

    public DateTime End { get; }

    public TimeSpan Increment { get; }

    /// <summary>Buckets in the range, empty ones included.</summary>
    public long BucketsInRange { get; }

    public long BucketsWithEvents { get; private set; }

    public long Events { get; private set; }

    public RecordedEvent? FirstEvent { get; private set; }

    public RecordedEvent? LastEvent { get; private set; }

    public long BucketsOverGuidance { get; private set; }

    public long OtherTopicsEvents { get; private set; }

    public ChartScale Scale { get; }

    public long[] EventsPerBar { get; }

    /// <summary>The buckets over the guidance, first ones (at most <see cref="OverGuidanceListed"/>).</summary>
    public IReadOnlyList<(DateTime Bucket, long Events)> OverGuidance => _overGuidance;

    /// <summary>The largest buckets, largest first (ties: earlier first).</summary>
    public IReadOnlyList<(DateTime Bucket, long Events)> Largest =>
        [.. _largest.UnorderedItems.Select(i => i.Element).OrderByDescending(b => b.Events).ThenBy(b => b.Bucket)];

    /// <summary>Events per topic, most first.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Topics =>
        [.. _topics.OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal)];

    /// <summary>Counts one event; events come in bucket order, as a range read yields them.</summary>
    public void Add(RecordedEvent recorded)
    {
        if (_currentBucket != recorded.TimeBucket)
        {
            CloseBucket();
            _currentBucket = recorded.TimeBucket;
        }

        _currentCount++;
        Events++;
        FirstEvent ??= recorded;
        LastEvent = recorded;
        if (_topics.TryGetValue(recorded.Topic, out var count) || _topics.Count < TopicsKept)
        {
            _topics[recorded.Topic] = count + 1;
        }
        else
        {
            OtherTopicsEvents++;
        }

        var bar = Scale.BarOf(recorded.TimeBucket);
        if (bar >= 0 && bar < EventsPerBar.Length)
        {
            EventsPerBar[bar]++;
        }
    }

    /// <summary>Closes the last bucket; call once after the last event.</summary>
    public void Complete()
    {
        CloseBucket();
        _currentBucket = null;
    }

    private void CloseBucket()
    {
        if (_currentBucket is not { } bucket || _currentCount == 0)
        {
            return;
        }

        BucketsWithEvents++;
        if (_currentCount > BucketGuidance)
        {
            BucketsOverGuidance++;
            if (_overGuidance.Count < OverGuidanceListed)
            {
                _overGuidance.Add((bucket, _currentCount));
            }
        }

        // A min-heap of the largest: the smallest kept leaves when a larger bucket comes.
        if (_largest.Count < LargestKept)
        {
            _largest.Enqueue((bucket, _currentCount), _currentCount);
        }
        else if (_largest.TryPeek(out _, out var smallest) && _currentCount > smallest)
        {
            _largest.EnqueueDequeue((bucket, _currentCount), _currentCount);
        }

        _currentCount = 0;
    }
}
