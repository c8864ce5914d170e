using BenchmarkDotNet.Attributes;
using EdgeRelay.Storage;
using EdgeRelay.Storage.Faster;
using FASTER.core;

namespace EdgeRelay.Benchmarks;

/// <summary>
/// What one FASTER commit costs, alone: one 1 KiB record appended, then a commit awaited. The relay pays
/// this once per group commit and spreads it over the SENDs the commit covers, so its allocation per
/// SEND is this figure divided by the SENDs per commit.
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/EdgeRelay.Benchmarks -- --filter '*CommitBenchmarks*'</c>. The
/// relay's device zero-fills its segment in the background, so the first iterations may still share the disk with it.</remarks>
[MemoryDiagnoser]
public class CommitBenchmarks
{
    private string _directory = null!;
    private IDevice _device = null!;
    private FasterLog _log = null!;
    private DeviceLogCommitCheckpointManager? _commits;
    private readonly byte[] _record = new byte[1024 + 25];

    /// <summary>How FASTER records a commit.</summary>
    public enum CommitMode
    {
        /// <summary>A new commit file per commit (FASTER's default).</summary>
        FilePerCommit,

        /// <summary>The commit record in the log, and still a commit file per commit (FASTER's default commit manager).</summary>
        FastCommit,

        /// <summary>The commit record in the log, a commit file every 1,000 commits: what the relay uses (FasterLogSetup.CreateCommitManager).</summary>
        FastCommitThrottled,
    }

    /// <summary>Which device the log writes through.</summary>
    public enum LogDevice
    {
        /// <summary>FASTER's own local device (on Linux: O_SYNC appends, a journal commit per write).</summary>
        Faster,

        /// <summary>The relay's device (FasterLogSetup.CreateDeviceAt): fdatasync into zero-filled segments.</summary>
        Relay,
    }

    [Params(CommitMode.FilePerCommit, CommitMode.FastCommit, CommitMode.FastCommitThrottled)]
    public CommitMode Mode { get; set; }

    [Params(LogDevice.Faster, LogDevice.Relay)]
    public LogDevice Device { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "edgerelay-bench-commit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        var prefix = Path.Combine(_directory, "commit.log");
        _device = Device == LogDevice.Relay ? FasterLogSetup.CreateDeviceAt(prefix) : Devices.CreateLogDevice(prefix);
        _commits = Mode == CommitMode.FastCommitThrottled ? FasterLogSetup.CreateCommitManager(_directory) : null;
        using var settings = new FasterLogSettings
        {
            LogDevice = _device,
            LogCommitManager = _commits,
            PageSizeBits = 22,
            MemorySizeBits = 26,
            SegmentSizeBits = 28,
            LogCommitDir = _directory,
            FastCommitMode = Mode != CommitMode.FilePerCommit,

            // Fast commit depends on per-entry checksums (FASTER's settings say so; the relay runs with them).
            LogChecksum = Mode != CommitMode.FilePerCommit ? LogChecksumType.PerEntry : LogChecksumType.None,
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
        _commits?.Dispose();
        _device.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
