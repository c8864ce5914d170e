using Microsoft.Extensions.Logging;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Writes the address snapshot (see <see cref="AddressSnapshot"/>) when the registry changed, or when a newer
/// one would let truncation drop another segment. Maintenance only (one pass at a time).
/// </summary>
internal sealed class SnapshotWriter
{
    private readonly AddressTable _registry;
    private readonly LogWriter _log;
    private readonly string _dataDirectory;
    private readonly int _segmentSizeBits;
    private readonly ILogger _logger;
    private long _coveredAddress;
    private long _writtenVersion = -1;

    /// <param name="coveredAddress">The covered address of the snapshot on disk at open (0: none yet).</param>
    public SnapshotWriter(AddressTable registry, LogWriter log, string dataDirectory, int segmentSizeBits, long coveredAddress, ILogger logger)
    {
        _registry = registry;
        _log = log;
        _dataDirectory = dataDirectory;
        _segmentSizeBits = segmentSizeBits;
        _coveredAddress = coveredAddress;
        _logger = logger;
    }

    /// <summary>Every address record below this log address is in the snapshot on disk (0: no snapshot yet).</summary>
    public long CoveredAddress => Volatile.Read(ref _coveredAddress);

    /// <summary>
    /// On a graceful close, after the last commit: a snapshot that covers the whole committed log, whether or
    /// not anything changed, so that the next open can tell a log cut short (covered address past the log's
    /// commit point: refused) from one that is whole. Costs one small file write per shutdown.
    /// </summary>
    public Task WriteFinalAsync() => WriteAsync(force: true);

    public Task WriteIfChangedAsync() => WriteAsync(force: false);

    private async Task WriteAsync(bool force)
    {
        long covered;
        long version;
        AddressInfo[] addresses;
        lock (_registry.Lock)
        {
            // Address records are appended under this lock, so every one below the tail read here is in the
            // registry copied here, and every later one lands at or above it.
            covered = _log.Tail;
            if (covered == _coveredAddress)
            {
                return; // nothing at all was appended since the last snapshot
            }

            // No address changed: a newer snapshot would only move its coverage, which matters when it lets
            // truncation drop another whole segment. (Commits alone move the tail: their metadata is written
            // into the log in fast-commit mode.)
            if (_registry.Version == _writtenVersion && covered >> _segmentSizeBits == _coveredAddress >> _segmentSizeBits)
            {
                return;
            }

            version = _registry.Version;
            addresses = _registry.CopyInfos();
        }

        // The snapshot may reflect only committed records: after a crash the log comes back at its last
        // commit, and an address the snapshot knew but the log lost would be a phantom.
        if (covered > _log.CommittedUntil)
        {
            await _log.Committer.CommitAsync();
        }

        var bytes = AddressSnapshot.Write(_dataDirectory, covered, addresses);
        Volatile.Write(ref _coveredAddress, covered);
        _writtenVersion = version;
        StorageLog.SnapshotWritten(_logger, addresses.Length, covered, bytes);
    }
}
