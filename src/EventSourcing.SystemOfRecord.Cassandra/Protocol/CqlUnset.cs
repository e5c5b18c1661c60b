namespace EventSourcing.SystemOfRecord.Cassandra.Protocol;

/// <summary>A bound value left unset (the [value] length -2 of protocol v4): the column is not written, no tombstone is made.</summary>
internal sealed class CqlUnset
{
    public static readonly CqlUnset Value = new();

    private CqlUnset()
    {
    }
}
