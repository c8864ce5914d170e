using FASTER.core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRelay.Storage.Faster;

public sealed partial class FasterOutboundQueue
{
    // Opening: the state replayed from the committed log, the format file, the folder's lock.
    internal const string FormatFileName = "outbound.format";
    internal const string Format = "edgerelay-outbound-log 1 (fast commit, per-entry checksums)";

    /// <summary>Opens (or creates) the queue in <see cref="FasterOutboundQueueOptions.Directory"/> and rebuilds its state from the committed log.</summary>
    /// <exception cref="IOException">Another process holds the folder.</exception>
    /// <exception cref="InvalidDataException">The log is damaged, of another format, or holds records this store never wrote.</exception>
    public static async Task<FasterOutboundQueue> OpenAsync(FasterOutboundQueueOptions options, TimeProvider time, ILogger? logger = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        logger ??= NullLogger.Instance;
        var directory = Path.GetFullPath(options.Directory);
        var logDirectory = FasterLogSetup.LogDirectory(directory);
        Directory.CreateDirectory(logDirectory);
        var lockFile = OpenLockFile(directory);
        OpenLog? open = null;
        try
        {
            CheckFormat(directory, logDirectory);
            open = await OpenLog.OpenVerifiedAsync(options.LogOptions(), directory, lockFile, logger, ct);
            var book = Replay(open.Log, directory);
            OutboundLog.Opened(logger, directory, book.QueuedCount, book.SettledCount, open.Log.BeginAddress, open.Log.CommittedUntilAddress);
            return new FasterOutboundQueue(options, time, logger, open, book);
        }
        catch
        {
            open?.DisposeLog();
            await lockFile.DisposeAsync();
            throw;
        }
    }

    private static OutboundBook Replay(FasterLog log, string directory)
    {
        var book = new OutboundBook();
        var committed = log.CommittedUntilAddress;
        using var iterator = log.Scan(log.BeginAddress, committed);
        while (true)
        {
            byte[] entry;
            int length;
            long address;
            try
            {
                if (!iterator.GetNext(out entry, out length, out address))
                {
                    break;
                }
            }
            catch (FasterException ex)
            {
                throw new InvalidDataException($"The outbound log in '{directory}' is damaged near log address {iterator.NextAddress} ({ex.Message}). Those records were acknowledged; refusing to start without them.", ex);
            }

            var record = entry.AsSpan(0, length);
            switch (length > 0 ? record[0] : (byte)0)
            {
                case OutboundRecords.QueuedKind:
                case OutboundRecords.HeldKind:
                    book.Queue(OutboundRecords.ReadQueued(record, address), address);
                    break;
                case OutboundRecords.SettledKind:
                    book.Settle(OutboundRecords.ReadSettled(record, address), address);
                    break;
                default:
                    throw new InvalidDataException($"The outbound log in '{directory}' holds a record of unknown kind at log address {address}. Refusing to open.");
            }
        }

        if (iterator.NextAddress < committed)
        {
            throw new InvalidDataException($"The outbound log scan stopped at {iterator.NextAddress}, before the committed tail {committed}.");
        }

        return book;
    }

    private static void CheckFormat(string directory, string logDirectory)
    {
        var path = Path.Combine(directory, FormatFileName);
        if (File.Exists(path))
        {
            var found = File.ReadAllText(path).Trim();
            if (found != Format)
            {
                throw new InvalidDataException($"The outbound folder '{directory}' holds a log in the format '{found}'; this relay reads '{Format}' only.");
            }

            return;
        }

        if (Directory.EnumerateFiles(logDirectory, "relay.log.*").Any())
        {
            throw new InvalidDataException($"The outbound folder '{directory}' holds log segments but no '{FormatFileName}': refusing to read a log of unknown format.");
        }

        File.WriteAllText(path, Format + "\n");
        DirectorySync.Flush(directory);
    }

    private static FileStream OpenLockFile(string directory)
    {
        var path = Path.Combine(directory, "lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The outbound queue folder '{directory}' is in use by another process (cannot lock '{path}').", ex);
        }
    }
}
