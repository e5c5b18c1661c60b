using System.Reflection;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Support;

/// <summary>Where the repository this test assembly was built from sits, and the configuration it was built in.</summary>
internal static class Repository
{
    public const string Solution = "EventSourcing.SystemOfRecord.sln";

    /// <summary>The folder that holds the solution file, found upwards from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: what the test assembly (and so the tool next to it) was built as.</summary>
    public static string Configuration { get; } =
        typeof(Repository).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    public static string PathOf(string relative) => Path.GetFullPath(Path.Combine(Root, relative));

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, Solution)))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No {Solution} above {AppContext.BaseDirectory}.");
    }
}
