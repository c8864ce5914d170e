using System.Reflection;
using System.Runtime.CompilerServices;

namespace EdgeRelay.Cli.Tests;

public sealed class PublicApiTests
{
    /// <summary>The CLI is an app like any other: it sees only what the library makes public.</summary>
    [Fact]
    public void The_library_opens_no_internals_to_the_cli()
    {
        var library = typeof(RelationshipManager.RelationshipManager).Assembly;

        var friends = library.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).ToList();

        Assert.DoesNotContain(friends, name => name.StartsWith("edgerelay-rm", StringComparison.OrdinalIgnoreCase) || name.StartsWith("EdgeRelay.Cli", StringComparison.Ordinal));
    }
}
