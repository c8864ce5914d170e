using BenchmarkDotNet.Attributes;
using FASTER.core;

namespace EdgeRelay.Benchmarks;

/// <summary>
/// What one FASTER commit costs, alone: one 1 KiB record appended, then a commit awaited. The relay pays
/// this once per group commit and spreads it over the SENDs the commit covers, so its allocation per
/// SEND is this figure divided by the SENDs per commit.
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/EdgeRelay.Benchmarks -- --filter '*CommitBenchmarks*'</c>.</remarks>
[MemoryDiagnoser]
public class CommitBenchmarks
{
    private string _directory = null!;
    private IDevice _device = null!;
    private FasterLog _log = null!;
    private readonly byte[] _record = new byte[1024 + 25];

    /// <summary>Fast commit (metadata in the log, what the relay uses) or a commit file per commit.</summary>
    [Params(true, false)]
    public bool FastCommit { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "edgerelay-bench-commit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _device = Devices.CreateLogDevice(Path.Combine(_directory, "commit.log"));
        using var settings = new FasterLogSettings
        {
            LogDevice = _device,
            PageSizeBits = 22,
            MemorySizeBits = 26,
            SegmentSizeBits = 28,
            LogCommitDir = _directory,
            FastCommitMode = FastCommit,
        };
        _log = new FasterLog(settings);
    }

    [Benchmark]
    public long AppendAndCommit()
    {
        _log.TryEnqueue(_record, out var address);
        _log.CommitAsync().AsTask().GetAwaiter().GetResult();
        return address;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _log.Dispose();
        _device.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
