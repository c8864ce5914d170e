using System.Diagnostics;

namespace EdgeRelay.Fuzzing.Tests;

/// <summary>
/// The short afl-fuzz campaign of fuzz.sh, a few seconds a target, in four parts so that each stays well inside
/// the per-test time limit (tests/tests.runsettings) on a loaded machine, where starting dotnet under afl-fuzz
/// costs more than the fuzzing itself. Skipped without afl-fuzz, except under CI=true, where .ci/run
/// installs it (Debian package afl++) and a missing one fails. The harness is built and instrumented once for
/// the class (<see cref="InstrumentedHarness"/>).
/// </summary>
public sealed class CampaignTests(CampaignTests.InstrumentedHarness harness) : IClassFixture<CampaignTests.InstrumentedHarness>
{
    private const int SecondsPerTarget = 3;

    private const int Parts = 4;

    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(8);

    public static TheoryData<int> Part => [.. Enumerable.Range(0, Parts)];

    [SkippableTheory]
    [MemberData(nameof(Part))]
    public void A_short_campaign_finds_no_crash_and_no_hang(int part)
    {
        RequireAfl();
        var targets = Targets.All.Where(t => !t.Hidden).Select(t => t.Name).ToList();
        var chosen = targets.Where((_, i) => i % Parts == part).ToList();

        var (exit, output) = Fuzz("--no-build", "--work", harness.Work, "--seconds", SecondsPerTarget.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--targets", string.Join(',', chosen));

        Assert.True(exit == 0, $"fuzz.sh exited {exit}:\n{output}");
        var rows = StatsRows(output);
        foreach (var target in chosen)
        {
            Assert.True(rows.TryGetValue(target, out var row), $"no statistics for {target}:\n{output}");
            Assert.True(row.Executions > 0, $"{target} ran no input:\n{output}");
            Assert.Equal((0, 0), (row.Crashes, row.Hangs));
        }
    }

    [SkippableFact]
    public void A_crash_fails_the_campaign_and_its_input_is_kept()
    {
        RequireAfl();
        var (exit, output) = Fuzz("--no-build", "--work", harness.Work, "--seconds", "15", "--targets", "selftest-crash");

        Assert.True(exit == 1, $"fuzz.sh exited {exit}, not 1 (a finding):\n{output}");
        Assert.True(StatsRows(output)["selftest-crash"].Crashes > 0, output);
        var kept = Directory.GetFiles(Path.Combine(harness.Work, "findings", "selftest-crash"), "crashes-*");
        Assert.NotEmpty(kept);
        Assert.All(kept, file => Assert.Equal(0xFF, File.ReadAllBytes(file)[0]));
    }

    /// <summary>The table fuzz.sh prints: target, executions, execs/s, corpus, crashes, hangs, seconds.</summary>
    private static Dictionary<string, (long Executions, int Crashes, int Hangs)> StatsRows(string output)
    {
        var rows = new Dictionary<string, (long, int, int)>();
        foreach (var line in output.Split('\n'))
        {
            var cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cells.Length == 7 && long.TryParse(cells[1], out var executions))
            {
                rows[cells[0]] = (executions, int.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture), int.Parse(cells[5], System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return rows;
    }

    private void RequireAfl()
    {
        var present = new[] { "/usr/bin", "/usr/local/bin" }.Any(d => File.Exists(Path.Combine(d, "afl-fuzz")));
        if (!present && string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail("afl-fuzz is not installed; .ci/run installs it with apt-get install afl++.");
        }

        Skip.IfNot(present, "afl-fuzz is not installed (apt-get install afl++).");
        harness.Build();
    }

    private static (int Exit, string Output) Fuzz(params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(Repository.Harness, "fuzz.sh"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"fuzz.sh ran longer than {Limit}:\n{stdout.Result}\n{stderr.Result}");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>A work directory where fuzz.sh has published and instrumented the harness, built on first use.</summary>
    public sealed class InstrumentedHarness : IDisposable
    {
        private readonly Lazy<bool> _built;

        public InstrumentedHarness()
        {
            Work = Directory.CreateTempSubdirectory("edgerelay-fuzz-").FullName;
            _built = new(() =>
            {
                var (exit, output) = Fuzz("--build-only", "--work", Work);
                Assert.True(exit == 0, $"fuzz.sh --build-only exited {exit}:\n{output}");
                return true;
            });
        }

        public string Work { get; }

        public void Build() => _ = _built.Value;

        public void Dispose() => Directory.Delete(Work, recursive: true);
    }
}
