using System.Collections.Concurrent;
using FASTER.core;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// The FASTER backend's parts wired by hand over a log of the test's own, as <see cref="FasterStorage"/> wires
/// them: for tests that must reach a part directly (damage the mirror, read at a chosen location).
/// </summary>
internal sealed class StoreParts : IAsyncDisposable
{
    private readonly IDevice _device;
    private readonly DeviceLogCommitCheckpointManager _commits;
    private readonly FasterLog _log;

    private StoreParts(IDevice device, DeviceLogCommitCheckpointManager commits, FasterLog log, FasterStorageOptions options, TimeProvider time)
    {
        _device = device;
        _commits = commits;
        _log = log;
        Committer = new GroupCommitter(log, NullLogger.Instance);
        Mirror = new RecentRecords(log, options.ReadCacheSizeBits, options.PageSizeBits);
        Log = new LogWriter(log, options.PageSizeBits, Committer, Mirror);
        Counters = new StoreCounters(0, 0);
        Registry = new AddressTable(new AddressIndex(), Log, time);
        Ingest = new MessageIngest(Registry, Log, Counters, time, options);
        Reader = new PayloadReader(Registry, Log, Counters);
    }

    public GroupCommitter Committer { get; }

    public RecentRecords Mirror { get; }

    public LogWriter Log { get; }

    public StoreCounters Counters { get; }

    public AddressTable Registry { get; }

    public MessageIngest Ingest { get; }

    public PayloadReader Reader { get; }

    public static async Task<StoreParts> OpenAsync(FasterStorageOptions options, TimeProvider time)
    {
        var logDirectory = FasterLogSetup.LogDirectory(options.DataDirectory);
        Directory.CreateDirectory(logDirectory);
        var device = FasterLogSetup.CreateDevice(options.DataDirectory);
        var commits = FasterLogSetup.CreateCommitManager(logDirectory);
        using var settings = FasterLogSetup.CreateSettings(device, commits, logDirectory, options.PageSizeBits, options.MemorySizeBits, options.SegmentSizeBits);
        var log = await FasterLog.CreateAsync(settings);
        return new StoreParts(device, commits, log, options, time);
    }

    public async ValueTask DisposeAsync()
    {
        await Committer.StopAsync();
        Committer.Dispose();
        _log.Dispose();
        _commits.Dispose();
        _device.Dispose();
    }
}
