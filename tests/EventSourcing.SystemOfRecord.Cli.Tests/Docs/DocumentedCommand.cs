using System.Text;
using System.Text.RegularExpressions;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Docs;

/// <summary>One <c>dotnet</c> or <c>sor</c> command from a shell block of a Markdown document, split into words as a shell would.</summary>
public sealed record DocumentedCommand(string File, int Line, string Text, IReadOnlyList<string> Words)
{
    private static readonly HashSet<string> ShellLanguages = new(StringComparer.OrdinalIgnoreCase) { "bash", "sh", "shell", "console", "zsh" };

    public override string ToString() => $"{File}:{Line}: {Text}";

    /// <summary>The documents whose commands are kept runnable: the README, docs/ and every package's README.</summary>
    public static IEnumerable<string> Documents(string root)
    {
        var files = new List<string> { Path.Combine(root, "README.md") };
        var docs = Path.Combine(root, "docs");
        if (Directory.Exists(docs))
        {
            files.AddRange(Directory.EnumerateFiles(docs, "*.md", SearchOption.AllDirectories));
        }

        foreach (var folder in new[] { "src", "samples" })
        {
            var path = Path.Combine(root, folder);
            if (Directory.Exists(path))
            {
                files.AddRange(Directory.EnumerateDirectories(path).Select(d => Path.Combine(d, "README.md")));
            }
        }

        return files.Where(System.IO.File.Exists).Order(StringComparer.Ordinal);
    }

    /// <summary>Every command of every document under <paramref name="root"/>.</summary>
    public static IEnumerable<DocumentedCommand> FindAll(string root) =>
        Documents(root).SelectMany(file => Parse(Path.GetRelativePath(root, file).Replace('\\', '/'), System.IO.File.ReadAllText(file)));

    /// <summary>The commands of one Markdown text: lines of fenced bash/sh/shell/console blocks that run dotnet or sor.</summary>
    public static IEnumerable<DocumentedCommand> Parse(string file, string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        string? fence = null;
        var shell = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (fence is null)
            {
                var open = Regex.Match(trimmed, "^(```+|~~~+)\\s*([A-Za-z]*)");
                if (open.Success)
                {
                    fence = open.Groups[1].Value;
                    shell = ShellLanguages.Contains(open.Groups[2].Value);
                }

                continue;
            }

            if (trimmed.StartsWith(fence, StringComparison.Ordinal))
            {
                fence = null;
                continue;
            }

            if (!shell)
            {
                continue;
            }

            // A command may go on over lines that end with a backslash.
            var start = i + 1;
            var text = new StringBuilder(trimmed);
            while (text.Length > 0 && text[^1] == '\\' && i + 1 < lines.Length)
            {
                text.Length--;
                text.Append(' ').Append(lines[++i].Trim());
            }

            var line = text.ToString().Trim();
            if (line.StartsWith("$ ", StringComparison.Ordinal))
            {
                line = line[2..];
            }

            foreach (var segment in SplitCommands(line))
            {
                var words = SplitWords(segment);
                while (words.Count > 0 && Regex.IsMatch(words[0], "^[A-Za-z_][A-Za-z0-9_]*=")) // VAR=value before a command
                {
                    words.RemoveAt(0);
                }

                if (words.Count > 0 && words[0] is "dotnet" or "sor")
                {
                    yield return new DocumentedCommand(file, start, segment.Trim(), words);
                }
            }
        }
    }

    /// <summary>Splits a line at <c>&amp;&amp;</c>, <c>||</c>, <c>;</c> and <c>|</c> outside quotes, and drops a trailing comment.</summary>
    private static List<string> SplitCommands(string line)
    {
        var segments = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }

                current.Append(c);
                continue;
            }

            if (c is '"' or '\'')
            {
                quote = c;
                current.Append(c);
            }
            else if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                break; // a comment to the end of the line
            }
            else if (c is ';' or '|' or '&')
            {
                segments.Add(current.ToString());
                current.Clear();
                if (i + 1 < line.Length && line[i + 1] == c)
                {
                    i++;
                }
            }
            else
            {
                current.Append(c);
            }
        }

        segments.Add(current.ToString());
        return segments.Where(s => !string.IsNullOrWhiteSpace(s)).ToList();
    }

    /// <summary>Shell words: split at white space outside quotes, quotes removed.</summary>
    private static List<string> SplitWords(string segment)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        var inWord = false;
        char? quote = null;
        foreach (var c in segment)
        {
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return words;
    }
}
