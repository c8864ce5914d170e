namespace EdgeRelay.Server.Tests;

/// <summary>
/// What holds a relay's private keys in a working tree (its data folder with <c>service.key</c>, the <c>tls/</c> folder
/// <c>cert dev</c> writes) is neither committed nor sent into an image's build context.
/// </summary>
public sealed class PrivateFilesIgnoredTests
{
    [Theory]
    [InlineData(".gitignore")]
    [InlineData(".dockerignore")]
    public void The_data_folder_and_the_tls_folder_are_ignored(string ignoreFile)
    {
        var lines = File.ReadAllLines(ContainerTests.RepositoryFile(ignoreFile)).Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);

        Assert.Contains("data/", lines);
        Assert.Contains("tls/", lines);
    }
}
