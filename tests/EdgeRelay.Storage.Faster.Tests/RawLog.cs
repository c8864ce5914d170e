using FASTER.core;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>The store's log opened raw, with the store's own settings, while the store is closed: to write what the store never would.</summary>
internal static class RawLog
{
    /// <summary>Appends <paramref name="records"/> after everything committed and commits them.</summary>
    public static async Task AppendAsync(FasterStorageOptions options, params byte[][] records)
    {
        var logDirectory = FasterLogSetup.LogDirectory(options.DataDirectory);
        using var device = FasterLogSetup.CreateDevice(options.DataDirectory);
        using var commits = FasterLogSetup.CreateCommitManager(logDirectory);
        using var settings = FasterLogSetup.CreateSettings(device, commits, logDirectory, options.PageSizeBits, options.MemorySizeBits, options.SegmentSizeBits);
        using var log = await FasterLog.CreateAsync(settings);
        foreach (var record in records)
        {
            await log.EnqueueAsync(record);
        }

        await log.CommitAsync();
    }
}
