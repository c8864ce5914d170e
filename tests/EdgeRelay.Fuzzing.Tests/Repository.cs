namespace EdgeRelay.Fuzzing.Tests;

/// <summary>The harness's folders in the source tree: the corpora and fuzz.sh are read where they are, not copied.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Harness => Path.Combine(Root, "tests", "EdgeRelay.Fuzzing");

    public static string Corpus => Path.Combine(Harness, "corpus");

    public static string Regressions => Path.Combine(Harness, "regressions");

    /// <summary>Every seed and regression input, as (target, folder kind, file path).</summary>
    public static IEnumerable<(string Target, string Kind, string Path)> Inputs() =>
        from kind in new[] { Corpus, Regressions }
        where Directory.Exists(kind)
        from folder in Directory.EnumerateDirectories(kind)
        from file in Directory.EnumerateFiles(folder)
        orderby file
        select (System.IO.Path.GetFileName(folder), System.IO.Path.GetFileName(kind), file);

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "EdgeRelay.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("EdgeRelay.sln not found above " + AppContext.BaseDirectory);
    }
}
