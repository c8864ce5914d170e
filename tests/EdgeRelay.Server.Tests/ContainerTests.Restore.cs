using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// The image restores packages from the project files alone, before the sources are copied, so that a
/// source edit reuses the restored layer. A project added to the relay's references but not to that
/// early copy would make the restore miss it and the publish (which does not restore) fail, in the image
/// only; these tests catch it where the tests run.
/// </summary>
public sealed partial class ContainerTests
{
    private const string RelayProject = "src/EdgeRelay/EdgeRelay.csproj";

    [Fact]
    public void The_dockerfile_copies_every_project_the_relay_needs_before_restoring_and_publishes_without_restoring()
    {
        var instructions = BuildStageInstructions(File.ReadAllText(RepositoryFile("Dockerfile")));
        var restore = instructions.FindIndex(i => i.Keyword == "RUN" && Normalize(i.Arguments) == $"dotnet restore {RelayProject}");
        Assert.True(restore >= 0, $"the build stage has no 'RUN dotnet restore {RelayProject}'");

        var copiedBeforeRestore = new HashSet<string>(StringComparer.Ordinal);
        foreach (var copy in instructions.Take(restore).Where(i => i.Keyword == "COPY"))
        {
            var parts = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(p => !p.StartsWith("--", StringComparison.Ordinal)).ToList();
            var destination = parts[^1];
            foreach (var source in parts[..^1])
            {
                Assert.False(source is "." or "./", "the whole tree is copied before the restore, so every source edit repeats it");
                copiedBeforeRestore.Add(CopiedTo(source, destination, parts.Count > 2));
            }
        }

        var needed = ProjectClosure(RelayProject).Append("Directory.Build.props").Append("Directory.Packages.props");
        var missing = needed.Where(path => !copiedBeforeRestore.Contains(path)).ToList();
        Assert.True(missing.Count == 0, "copied after the restore, or not at all: " + string.Join(", ", missing));

        var publish = instructions.FindIndex(i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet publish ", StringComparison.Ordinal));
        Assert.True(publish > restore, "the publish does not follow the restore");
        Assert.Contains(instructions.Skip(restore).Take(publish - restore), i => i.Keyword == "COPY" && Normalize(i.Arguments) == ". .");
        Assert.Contains("--no-restore", instructions[publish].Arguments, StringComparison.Ordinal);
    }

    [Fact]
    public void The_relay_needs_its_libraries_transitively_and_not_the_command_line_tools()
    {
        // Guards the closure the test above relies on: a reader that saw only direct references would pass
        // a Dockerfile that copies src/EdgeRelay.Server alone.
        var closure = ProjectClosure(RelayProject);
        Assert.Contains("src/EdgeRelay.Server/EdgeRelay.Server.csproj", closure);
        Assert.Contains("src/EdgeRelay.Core/EdgeRelay.Core.csproj", closure);
        Assert.Contains("src/EdgeRelay.Client/EdgeRelay.Client.csproj", closure);
        Assert.DoesNotContain("src/EdgeRelay.Cli/EdgeRelay.Cli.csproj", closure);
    }

    private static string CopiedTo(string source, string destination, bool severalSources)
    {
        var folder = destination.EndsWith('/') || severalSources;
        var target = folder ? destination.TrimEnd('/') + "/" + Path.GetFileName(source) : destination;
        return target.StartsWith("./", StringComparison.Ordinal) ? target[2..] : target;
    }

    /// <summary>The project and every project it references, directly or not, as repository-relative paths.</summary>
    private static List<string> ProjectClosure(string project)
    {
        var root = Path.GetDirectoryName(RepositoryFile("EdgeRelay.sln"))!;
        var seen = new List<string>();
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var current))
        {
            if (seen.Contains(current))
            {
                continue;
            }

            seen.Add(current);
            var directory = Path.GetDirectoryName(Path.Combine(root, current))!;
            foreach (var reference in XDocument.Load(Path.Combine(root, current)).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                var full = Path.GetFullPath(Path.Combine(directory, include));
                pending.Push(Path.GetRelativePath(root, full).Replace('\\', '/'));
            }
        }

        return seen;
    }

    private static List<(string Keyword, string Arguments)> BuildStageInstructions(string dockerfile)
    {
        var joined = Regex.Replace(dockerfile, @"\\\r?\n\s*", " ");
        var stages = Regex.Split(joined, @"(?m)^(?=FROM\s)");
        var build = stages.First(s => s.StartsWith("FROM ", StringComparison.Ordinal));
        return Regex.Matches(build, @"(?m)^([A-Z]+)\s+(.*?)\s*$")
            .Select(m => (m.Groups[1].Value, m.Groups[2].Value))
            .ToList();
    }
}
