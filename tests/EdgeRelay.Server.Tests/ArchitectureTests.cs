using System.Reflection;
using System.Xml.Linq;
using EdgeRelay.Delivery;
using EdgeRelay.Storage;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// The layering of docs/ARCHITECTURE.md, checked: every project under src/ references only the layers below
/// it, so that storage stays engine-free and delivery stays free of the server (and a change that breaks
/// the arrows fails here, not in review).
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>What each project may reference; anything else is a violation.</summary>
    private static readonly Dictionary<string, string[]> AllowedProjectReferences = new()
    {
        ["EdgeRelay.Core"] = [],
        ["EdgeRelay.Protocol"] = ["EdgeRelay.Core"],
        ["EdgeRelay.Addressing"] = ["EdgeRelay.Core"],
        ["EdgeRelay.Storage"] = ["EdgeRelay.Core"],
        ["EdgeRelay.Storage.Faster"] = ["EdgeRelay.Core", "EdgeRelay.Storage"],
        ["EdgeRelay.Storage.JetStream"] = ["EdgeRelay.Core", "EdgeRelay.Storage"],
        ["EdgeRelay.Delivery"] = ["EdgeRelay.Core", "EdgeRelay.Storage"],
        ["EdgeRelay.Attachments"] = ["EdgeRelay.Core", "EdgeRelay.Storage"],
        ["EdgeRelay.Forwarding"] = ["EdgeRelay.Core", "EdgeRelay.Protocol", "EdgeRelay.Storage", "EdgeRelay.Client"],
        ["EdgeRelay.Server"] = ["EdgeRelay.Core", "EdgeRelay.Protocol", "EdgeRelay.Addressing", "EdgeRelay.Storage", "EdgeRelay.Storage.Faster", "EdgeRelay.Storage.JetStream", "EdgeRelay.Delivery", "EdgeRelay.Attachments", "EdgeRelay.Forwarding"],
        ["EdgeRelay"] = ["EdgeRelay.Server"],
        ["EdgeRelay.Client"] = ["EdgeRelay.Core", "EdgeRelay.Protocol", "EdgeRelay.Addressing"],
        ["EdgeRelay.RelationshipManager"] = ["EdgeRelay.Core", "EdgeRelay.Addressing", "EdgeRelay.Client"],
        ["EdgeRelay.Cli"] = ["EdgeRelay.RelationshipManager"],
    };

    public static TheoryData<string> Projects => new(AllowedProjectReferences.Keys);

    [Theory]
    [MemberData(nameof(Projects))]
    public void A_project_references_only_the_layers_below_it(string project)
    {
        var references = ProjectReferences(project);

        Assert.All(references, reference => Assert.Contains(reference, AllowedProjectReferences[project]));
    }

    [Fact]
    public void Every_project_under_src_has_its_place_in_the_layering()
    {
        var projects = Directory.GetDirectories(Path.Combine(RepositoryRoot(), "src")).Select(Path.GetFileName).Order();

        Assert.Equal(AllowedProjectReferences.Keys.Order(), projects);
    }

    [Fact]
    public void Storage_contracts_reference_no_engine_and_no_package()
    {
        Assert.Empty(PackageReferences("EdgeRelay.Storage"));
        Assert.DoesNotContain(typeof(IRelayStorage).Assembly.GetReferencedAssemblies(), a => a.Name!.StartsWith("FASTER", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Delivery_references_neither_the_server_nor_the_wire_nor_an_engine()
    {
        Assert.DoesNotContain(PackageReferences("EdgeRelay.Delivery"), p => p.StartsWith("Microsoft.FASTER", StringComparison.Ordinal));
        Assert.Empty(FrameworkReferences("EdgeRelay.Delivery"));
        var referenced = typeof(PushHub).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.DoesNotContain(referenced, name => name is "EdgeRelay.Server" or "EdgeRelay.Protocol" or "edgerelay");
        Assert.DoesNotContain(referenced, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || name.StartsWith("FASTER", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Attachments_reference_neither_the_server_nor_the_wire_nor_an_engine()
    {
        var referenced = typeof(Attachments.AttachmentStore).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();

        // The storage contracts only (a cluster's attachment replicas, IAttachmentReplicas), never an engine.
        Assert.DoesNotContain(referenced, name => name is "EdgeRelay.Server" or "EdgeRelay.Protocol" or "EdgeRelay.Storage.Faster" or "EdgeRelay.Storage.JetStream" or "edgerelay");
        Assert.DoesNotContain(referenced, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || name.StartsWith("FASTER", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Forwarding_references_neither_the_server_nor_an_engine()
    {
        Assert.DoesNotContain(PackageReferences("EdgeRelay.Forwarding"), p => p.StartsWith("Microsoft.FASTER", StringComparison.Ordinal));
        var referenced = typeof(global::EdgeRelay.Forwarding.ForwardingEngine).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.DoesNotContain(referenced, name => name is "EdgeRelay.Server" or "EdgeRelay.Storage.Faster" or "edgerelay");
        Assert.DoesNotContain(referenced, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || name.StartsWith("FASTER", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Only_the_server_and_the_executable_run_on_ASP_NET_Core()
    {
        foreach (var project in AllowedProjectReferences.Keys.Where(p => p is not ("EdgeRelay.Server" or "EdgeRelay")))
        {
            Assert.Empty(FrameworkReferences(project));
        }
    }

    [Fact]
    public void The_layering_has_no_cycle()
    {
        var visiting = new HashSet<string>();
        var done = new HashSet<string>();
        foreach (var project in AllowedProjectReferences.Keys)
        {
            Visit(project);
        }

        void Visit(string project)
        {
            if (done.Contains(project))
            {
                return;
            }

            Assert.True(visiting.Add(project), $"{project} depends on itself through its references");
            foreach (var reference in ProjectReferences(project))
            {
                Visit(reference);
            }

            visiting.Remove(project);
            done.Add(project);
        }
    }

    private static string[] ProjectReferences(string project) =>
        Items(project, "ProjectReference").Select(include => Path.GetFileNameWithoutExtension(include.Replace('\\', '/'))).ToArray();

    private static string[] PackageReferences(string project) => Items(project, "PackageReference");

    private static string[] FrameworkReferences(string project) => Items(project, "FrameworkReference");

    private static string[] Items(string project, string kind)
    {
        var path = Path.Combine(RepositoryRoot(), "src", project, project + ".csproj");
        return XDocument.Load(path).Descendants(kind).Select(e => (string)e.Attribute("Include")!).ToArray();
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "EdgeRelay.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException($"No EdgeRelay.sln above {AppContext.BaseDirectory}.");
    }
}
