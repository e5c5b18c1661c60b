using System.Runtime.CompilerServices;
using EventSourcing.SystemOfRecord.Cassandra.Protocol;
using EventSourcing.SystemOfRecord.Cassandra.Protocol.Messages;

namespace EventSourcing.SystemOfRecord.Cassandra.Client;

/// <summary>
/// Pages sized by bytes. The native protocol counts a page in rows, so each page asks for as many rows as fit in the
/// byte budget, judged by the largest row this read has seen; the first page, before any row is seen, assumes rows
/// as large as the largest message the system of record accepts by default. A page that still comes back over the
/// frame limit (rows far larger than those before) is asked for again, with the rows that fit.
/// </summary>
internal static class CqlPaging
{
    /// <summary>The row size the first page assumes: <see cref="SystemOfRecordOptions.DefaultMaxMessageBytes"/>.</summary>
    internal const int AssumedFirstRowBytes = SystemOfRecordOptions.DefaultMaxMessageBytes;

    /// <summary>Streams every row of a SELECT in pages of at most <paramref name="maxRows"/> rows and about <paramref name="pageBytes"/> bytes.</summary>
    public static async IAsyncEnumerable<CqlRow> QueryByBytesAsync(
        this CqlCluster cluster,
        CqlStatement statement,
        int maxRows,
        int pageBytes,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        byte[]? pagingState = null;
        long rowBytes = AssumedFirstRowBytes;
        long largestSeen = 0;
        do
        {
            var rows = RowsFor(pageBytes, rowBytes, maxRows);
            RowsResult page;
            try
            {
                page = await cluster.ExecuteAsync(statement with { PageSize = rows }, pagingState, cancellationToken).ConfigureAwait(false) as RowsResult
                    ?? throw new CassandraProtocolException($"Expected rows from '{statement.Cql}'.");
            }
            catch (CassandraProtocolException ex) when (ex.OversizedResponseBytes is { } bytes && rows > 1)
            {
                // The same page again, with as many rows as the answer says fit; later pages remember the lesson.
                largestSeen = Math.Max(largestSeen, Math.Max(rowBytes * 2, (bytes / rows) + 1));
                rowBytes = largestSeen;
                continue;
            }

            foreach (var row in page.Rows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return row;
            }

            largestSeen = Math.Max(largestSeen, page.LargestRowBytes);
            rowBytes = Math.Max(largestSeen, 1);
            pagingState = page.Metadata.PagingState;
        }
        while (pagingState is not null);
    }

    internal static int RowsFor(int pageBytes, long rowBytes, int maxRows) => (int)Math.Clamp(pageBytes / rowBytes, 1, maxRows);
}
