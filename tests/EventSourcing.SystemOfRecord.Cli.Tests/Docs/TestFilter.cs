namespace EventSourcing.SystemOfRecord.Cli.Tests.Docs;

/// <summary>
/// Checks a <c>dotnet test --filter</c> expression the way VSTest reads it: conditions <c>Property=Value</c>,
/// <c>!=</c>, <c>~</c> (contains) or <c>!~</c>, joined with <c>&amp;</c> and <c>|</c>, grouped with parentheses; a bare
/// value means <c>FullyQualifiedName~value</c>. Properties are the ones the NUnit adapter filters on.
/// </summary>
internal static class TestFilter
{
    public static readonly IReadOnlySet<string> Properties =
        new HashSet<string>(StringComparer.Ordinal) { "FullyQualifiedName", "Name", "ClassName", "Namespace", "TestCategory", "Category", "Priority" };

    /// <summary>The problem with <paramref name="filter"/>, or null when it is valid; <paramref name="conditions"/> gets its conditions.</summary>
    public static string? Check(string filter, out List<(string Property, string Operator, string Value)> conditions)
    {
        conditions = [];
        var position = 0;
        var problem = Expression(filter, ref position, conditions);
        if (problem is null && position != filter.Length)
        {
            problem = $"unexpected '{filter[position]}' at {position}";
        }

        return problem;
    }

    private static string? Expression(string text, ref int position, List<(string, string, string)> conditions)
    {
        while (true)
        {
            var problem = Term(text, ref position, conditions);
            if (problem is not null)
            {
                return problem;
            }

            if (position < text.Length && text[position] is '&' or '|')
            {
                position++;
                continue;
            }

            return null;
        }
    }

    private static string? Term(string text, ref int position, List<(string, string, string)> conditions)
    {
        if (position < text.Length && text[position] == '(')
        {
            position++;
            var problem = Expression(text, ref position, conditions);
            if (problem is not null)
            {
                return problem;
            }

            if (position >= text.Length || text[position] != ')')
            {
                return "a '(' is not closed";
            }

            position++;
            return null;
        }

        var start = position;
        while (position < text.Length && text[position] is not ('&' or '|' or '(' or ')'))
        {
            position += text[position] == '\\' && position + 1 < text.Length ? 2 : 1;
        }

        var condition = text[start..position].Trim();
        if (condition.Length == 0)
        {
            return $"an empty condition at {start}";
        }

        var op = new[] { "!=", "!~", "=", "~" }
            .Select(o => (Operator: o, Index: condition.IndexOf(o, StringComparison.Ordinal)))
            .Where(o => o.Index >= 0)
            .OrderBy(o => o.Index)
            .ThenByDescending(o => o.Operator.Length)
            .FirstOrDefault();
        if (op.Operator is null)
        {
            conditions.Add(("FullyQualifiedName", "~", condition));
            return null;
        }

        var property = condition[..op.Index].Trim();
        var value = condition[(op.Index + op.Operator.Length)..].Trim();
        if (!Properties.Contains(property))
        {
            return $"'{property}' is not a property a test can be filtered on ({string.Join(", ", Properties)})";
        }

        if (value.Length == 0)
        {
            return $"'{property}{op.Operator}' has no value";
        }

        conditions.Add((property, op.Operator, value));
        return null;
    }
}
