using System.Text.RegularExpressions;
using EventSourcing.SystemOfRecord.Cli.Tests.Support;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Docs;

/// <summary>
/// Every <c>dotnet</c> and <c>sor</c> command in a shell block of the README, docs/ and the package READMEs stays
/// runnable: <c>sor</c> lines parse with the tool's own parser, <c>dotnet run --project</c> names a project that exists
/// (and its arguments parse when it is the tool), <c>dotnet test --filter</c> has a valid filter whose categories some
/// test carries. One test case per command, so a new document is covered as soon as it is written.
/// </summary>
public sealed class DocumentedCommandsTests
{
    private const string ToolProject = "src/EventSourcing.SystemOfRecord.Cli";

    private static readonly HashSet<string> KnownDotnetCommands = new(StringComparer.Ordinal)
    {
        "add", "build", "clean", "format", "new", "nuget", "pack", "publish", "restore", "run", "sln", "test", "tool",
        "--info", "--list-sdks", "--version",
    };

    private static readonly Lazy<HashSet<string>> Categories = new(() =>
    [
        .. Directory.EnumerateFiles(Repository.PathOf("tests"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(file => Regex.Matches(File.ReadAllText(file), "Category\\(\"([^\"]+)\"\\)").Select(m => m.Groups[1].Value)),
    ]);

    public static IEnumerable<TestCaseData> Commands() =>
        DocumentedCommand.FindAll(Repository.Root).Select(c => new TestCaseData(c).SetArgDisplayNames($"{c.File}:{c.Line} {c.Text}"));

    [Test]
    public void Documents_HoldCommandsToCheck()
    {
        var commands = DocumentedCommand.FindAll(Repository.Root).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(commands.Select(c => c.File), Does.Contain("README.md"));
            Assert.That(commands.Select(c => c.File), Does.Contain("src/EventSourcing.SystemOfRecord.Cli/README.md"));
            Assert.That(commands.Count(c => c.Words[0] == "sor"), Is.GreaterThan(5));
        });
    }

    [TestCaseSource(nameof(Commands))]
    public void Command_ParsesAndNamesWhatExists(DocumentedCommand command) =>
        Assert.That(Problem(command), Is.Null, command.ToString());

    [TestCase("sor stats --sqlite a.db --form now-1h --to now")]
    [TestCase("sor reconcile --sqlite a.db --from now-1h --to now")]
    [TestCase("dotnet run --project samples/NoSuchSample")]
    [TestCase("dotnet run --project src/EventSourcing.SystemOfRecord.Cli -- stats --sqlite a.db")]
    [TestCase("dotnet test --filter TestCategory=NoSuchCategory")]
    [TestCase("dotnet test --filter \"Categry!=Slow\"")]
    [TestCase("dotnet tset")]
    public void Problem_BrokenCommand_IsFound(string line)
    {
        var command = DocumentedCommand.Parse("doc.md", $"```bash\n{line}\n```\n").Single();

        Assert.That(Problem(command), Is.Not.Null);
    }

    [TestCase("TestCategory!=Slow")]
    [TestCase("TestCategory=Slow|FullyQualifiedName~Cli")]
    [TestCase("(Name~Stats&TestCategory!=Slow)|Priority=1")]
    [TestCase("StatsCommandTests")]
    public void TestFilter_ValidExpressions_PassWithTheirConditions(string filter) =>
        Assert.That(TestFilter.Check(filter, out _), Is.Null);

    [TestCase("TestCategory!=")]
    [TestCase("Categry=Slow")]
    [TestCase("(TestCategory=Slow")]
    [TestCase("TestCategory=Slow)")]
    [TestCase("A=1&&")]
    public void TestFilter_InvalidExpressions_AreRefused(string filter) =>
        Assert.That(TestFilter.Check(filter, out _), Is.Not.Null);

    [Test]
    public void Parse_ShellBlocks_KeepsCommandsJoinsContinuationsDropsCommentsAndPrompts()
    {
        const string markdown = """
            Text with `sor stats` inline is not a command.

            ```bash
            # a comment line
            $ sor stats --sqlite "my events.db" \
                --from now-1h --to now   # trailing comment
            cd somewhere && dotnet test --filter "TestCategory!=Slow"
            SOR_CASSANDRA_PASSWORD=x sor read --cassandra h --keyspace k --bucket now
            echo not ours
            ```

            ```csharp
            sor stats // not a shell block
            ```
            """;

        var commands = DocumentedCommand.Parse("doc.md", markdown).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(commands.Select(c => c.Line), Is.EqualTo(new[] { 5, 7, 8 }));
            Assert.That(commands[0].Words, Is.EqualTo(new[] { "sor", "stats", "--sqlite", "my events.db", "--from", "now-1h", "--to", "now" }));
            Assert.That(commands[1].Words, Is.EqualTo(new[] { "dotnet", "test", "--filter", "TestCategory!=Slow" }));
            Assert.That(commands[2].Words[0], Is.EqualTo("sor"));
        });
    }

    /// <summary>What is wrong with a documented command, or null when it parses and names what exists.</summary>
    private static string? Problem(DocumentedCommand command)
    {
        var words = command.Words;
        if (words[0] == "sor")
        {
            return ToolProblem(words.Skip(1).ToList());
        }

        if (words.Count < 2 || !KnownDotnetCommands.Contains(words[1]))
        {
            return "not a dotnet command: " + (words.Count > 1 ? words[1] : "(none)");
        }

        switch (words[1])
        {
            case "run":
                var project = Value(words, "--project");
                if (project is null)
                {
                    return "dotnet run must name its --project, so it runs from the repository root";
                }

                var separator = words.ToList().IndexOf("--");
                var isTool = Repository.PathOf(project).TrimEnd('/', '\\') == Repository.PathOf(ToolProject);
                return ProjectProblem(project) ?? (isTool && separator > 0 ? ToolProblem(words.Skip(separator + 1).ToList()) : null);
            case "test":
                if (Value(words, "--filter") is { } filter)
                {
                    if (TestFilter.Check(filter, out var conditions) is { } invalid)
                    {
                        return $"the filter '{filter}': {invalid}";
                    }

                    if (conditions.FirstOrDefault(c => c.Property is "TestCategory" or "Category" && !Categories.Value.Contains(c.Value)) is { Value: { } unknown })
                    {
                        return $"no test carries the category '{unknown}'";
                    }
                }

                return FirstArgument(words) is { } tested ? ProjectProblem(tested) : null;
            case "build" or "pack" or "restore" or "publish" or "clean":
                return FirstArgument(words) is { } path ? ProjectProblem(path) : null;
            default:
                return null;
        }
    }

    private static string? ToolProblem(IReadOnlyList<string> args)
    {
        var errors = SorCli.Parse(args).Errors;
        return errors.Count == 0 ? null : $"sor {string.Join(' ', args)}: {string.Join(" ", errors.Select(e => e.Message))}";
    }

    private static string? ProjectProblem(string path)
    {
        var full = Repository.PathOf(path);
        var exists = File.Exists(full) || (Directory.Exists(full) && Directory.EnumerateFiles(full, "*.*proj").Any());
        return exists ? null : $"{path} is no project or solution of the repository";
    }

    private static string? Value(IReadOnlyList<string> words, string option)
    {
        var index = words.ToList().IndexOf(option);
        return index >= 0 && index + 1 < words.Count ? words[index + 1] : null;
    }

    // The first word after the dotnet command that is neither an option nor an option's value.
    private static string? FirstArgument(IReadOnlyList<string> words)
    {
        for (var i = 2; i < words.Count; i++)
        {
            if (words[i] == "--")
            {
                return null;
            }

            if (words[i].StartsWith('-'))
            {
                i++; // its value (the options these commands take in our documents all have one)
                continue;
            }

            return words[i];
        }

        return null;
    }
}
