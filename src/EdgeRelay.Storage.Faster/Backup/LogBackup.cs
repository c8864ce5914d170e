using System.Globalization;
using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The files of one FASTER log at a commit point, for a backup: the segments from the log's begin address up to
/// the committed-until address, cut there. The caller holds off truncation while they are read.
/// </summary>
/// <remarks>
/// <para>Why cut, and why no commit file: the relay keeps appending and committing while the copy runs. A copy
/// of the live segment taken later than the commit point would hold entries (and fast-commit records) of later
/// commits, possibly half written; FASTER's recovery scans forward for commit records and would recover to one
/// of those, torn. So the copy stops at the commit point and zeros the rest of that page. FASTER's commit
/// files (<c>log-commits/</c>) are rewritten and deleted by the running log on its own schedule, and the newest
/// may describe a later commit; instead, the restore writes a commit file for exactly this point
/// (<see cref="BackupArchive.Restore"/>), from which recovery scans forward and finds nothing more.</para>
/// <para>Why the bytes below the commit point are stable: FASTER writes them once the commit covers them, and
/// later writes of the same page only rewrite them with the same content.</para>
/// </remarks>
internal static class LogBackup
{
    /// <summary>Commits everything appended so far and describes the log's files at that commit point.</summary>
    public static async Task<(BackupCommitPoint Point, List<BackupFile> Files)> CaptureAsync(FasterLog log, GroupCommitter committer, string directory, int pageSizeBits, int segmentSizeBits, CancellationToken ct)
    {
        await committer.CommitAsync().WaitAsync(ct);

        // Truncation is held off by the caller, so the begin address and the files from it on stay put.
        var begin = log.BeginAddress;
        var until = Volatile.Read(ref log.CommittedUntilAddress);
        var files = new List<BackupFile>();
        var prefix = FasterLogSetup.SegmentPathPrefix(directory);
        var segmentSize = 1L << segmentSizeBits;
        var pageSize = 1L << pageSizeBits;
        var last = (until - 1) >> segmentSizeBits;
        for (var segment = begin >> segmentSizeBits; segment <= last; segment++)
        {
            var path = prefix + "." + segment.ToString(CultureInfo.InvariantCulture);
            var start = segment << segmentSizeBits;
            long data;
            long length;
            if (segment < last)
            {
                data = segmentSize;
                length = segmentSize;
            }
            else
            {
                data = until - start;

                // Through the end of the page that holds the commit point: recovery reads that page whole.
                length = Math.Min(segmentSize, ((data >> pageSizeBits) + 1) * pageSize);
            }

            var name = Path.GetFileName(path);
            files.Add(new BackupFile("log/" + name, length, () => PrefixFileStream.Open(path, data, length)));
        }

        return (new BackupCommitPoint("log", begin, until), files);
    }

    /// <summary>A small file of the store's folder, read whole now (it is rewritten only by maintenance, which is held off).</summary>
    public static BackupFile WholeFile(string directory, string name)
    {
        var bytes = File.ReadAllBytes(Path.Combine(directory, name));
        return new BackupFile(name, bytes.Length, () => new MemoryStream(bytes, writable: false));
    }

    /// <summary>A file read when its turn comes (maintenance, which alone rewrites it, is held off); none when absent.</summary>
    public static BackupFile? FileIfExists(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        var info = new FileInfo(path);
        return info.Exists ? new BackupFile(name, info.Length, () => PrefixFileStream.Open(path, info.Length, info.Length)) : null;
    }
}
