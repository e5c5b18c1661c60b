using System.Reflection;
using EventSourcing.SystemOfRecord.Cli.Tests.Support;
using EventSourcing.SystemOfRecord.Kafka.Tests.Support;

namespace EventSourcing.SystemOfRecord.Cli.Tests.Packaging;

/// <summary>
/// The tool as a user gets it: packed into a local feed, installed with <c>dotnet tool install</c> from that feed only
/// (no network), and run by its command name. Slow: packing compresses the tool's native libraries (about 30 s).
/// </summary>
[Category("Slow")]
public sealed class ToolInstallTests
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(4);

    [Test]
    public async Task PackedTool_InstalledFromALocalFeed_RunsAsSor()
    {
        using var folder = new TempFolder();
        var feed = Path.Combine(folder.Path, "feed");
        var tools = Path.Combine(folder.Path, "tools");
        var environment = new Dictionary<string, string>
        {
            // A package cache of its own: a same-numbered package from an older commit must not be picked up.
            ["NUGET_PACKAGES"] = Path.Combine(folder.Path, "packages"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };

        // The tool was built with this test assembly (a project reference): pack what is there, under the version it
        // was built with (MinVer would count a commit made since the build).
        var built = typeof(SorCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var version = built.Split('+')[0];
        var pack = await ProcessRun.RunAsync(
            ProcessRun.Dotnet,
            ["pack", Repository.PathOf("src/EventSourcing.SystemOfRecord.Cli"), "-c", Repository.Configuration, "--no-build", "-o", feed, $"-p:MinVerVersionOverride={version}"],
            environment,
            StepTimeout);
        Assert.That(pack.ExitCode, Is.Zero, pack.Output);
        Assert.That(File.Exists(Path.Combine(feed, $"EventSourcing.SystemOfRecord.Cli.{version}.nupkg")), pack.Output);

        // Only the local feed: nothing is fetched from anywhere else.
        var config = Path.Combine(folder.Path, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        var install = await ProcessRun.RunAsync(
            ProcessRun.Dotnet,
            ["tool", "install", "EventSourcing.SystemOfRecord.Cli", "--tool-path", tools, "--add-source", feed, "--configfile", config, "--version", version],
            environment,
            StepTimeout);
        Assert.That(install.ExitCode, Is.Zero, install.Output);

        // The command shim finds the runtime through DOTNET_ROOT, as on a machine where dotnet is not in the default place.
        if (Path.IsPathRooted(ProcessRun.Dotnet))
        {
            environment["DOTNET_ROOT"] = Path.GetDirectoryName(ProcessRun.Dotnet)!;
        }

        var sor = Path.Combine(tools, OperatingSystem.IsWindows() ? "sor.exe" : "sor");
        var help = await ProcessRun.RunAsync(sor, ["--help"], environment, StepTimeout);
        var versionRun = await ProcessRun.RunAsync(sor, ["--version"], environment, StepTimeout);
        var missing = await ProcessRun.RunAsync(sor, ["stats", "--sqlite", Path.Combine(folder.Path, "none.db"), "--from", "now-1h", "--to", "now"], environment, StepTimeout);

        Assert.Multiple(() =>
        {
            Assert.That(help.ExitCode, Is.Zero, help.Output);
            Assert.That(help.Output, Does.Contain("republish").And.Contain("reconcile").And.Contain("checkpoints"));
            Assert.That(versionRun.Output.Trim(), Does.StartWith(version), "the installed tool reports the package version");
            Assert.That(missing.ExitCode, Is.EqualTo(ExitCodes.StoreUnavailable), missing.Output);
        });
    }
}
