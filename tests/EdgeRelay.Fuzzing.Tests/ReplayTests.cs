namespace EdgeRelay.Fuzzing.Tests;

/// <summary>
/// The regression half of fuzzing, always run: every seed and every input that once crashed or hung a target goes
/// through that target in process, with the same oracles afl-fuzz runs it with.
/// </summary>
public sealed class ReplayTests
{
    public static TheoryData<string, string, string> Inputs()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (target, kind, path) in Repository.Inputs())
        {
            data.Add(target, kind, Path.GetRelativePath(Repository.Harness, path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void An_input_goes_through_its_target_without_an_unexpected_exception(string target, string kind, string file)
    {
        var fuzzTarget = Targets.Find(target);
        Assert.True(fuzzTarget is not null, $"{file} is in a folder that names no target");

        // Throws (and fails here) on any exception the decoder does not document, or on a broken oracle.
        var accepted = fuzzTarget.Run(File.ReadAllBytes(Path.Combine(Repository.Harness, file)));

        // Seeds are valid encodings: a seed the decoder refuses starts afl-fuzz in the wrong place.
        if (kind == "corpus" && !fuzzTarget.Hidden)
        {
            Assert.True(accepted, $"the seed {file} is refused by {target}");
        }
    }

    [Fact]
    public void Every_target_has_seeds_and_every_seed_folder_a_target()
    {
        var folders = Directory.EnumerateDirectories(Repository.Corpus).Select(d => Path.GetFileName(d)!).Order().ToList();
        var names = Targets.All.Select(t => t.Name).Order().ToList();
        Assert.Equal(names, folders);
        Assert.All(names, name => Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(Repository.Corpus, name))));
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void Regression_folders_name_targets()
    {
        var names = Targets.All.Select(t => t.Name).ToHashSet();
        var folders = Directory.Exists(Repository.Regressions) ? Directory.EnumerateDirectories(Repository.Regressions).Select(d => Path.GetFileName(d)!) : [];
        Assert.All(folders, folder => Assert.Contains(folder, names));
    }

    [Fact]
    public void The_self_test_target_throws_on_its_magic_byte_and_only_on_it()
    {
        var target = Targets.Find("selftest-crash")!;
        Assert.True(target.Hidden);
        target.Run([0x00, 0xFF]);
        Assert.Throws<InvalidOperationException>(() => target.Run([0xFF]));
    }
}
