using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Reads the log's segment files past the point FASTER recovered to and says whether anything there proves
/// that acknowledged records were rolled back.
/// </summary>
/// <remarks>
/// <para>Why: in fast-commit mode FASTER recovers by scanning forward from its last commit file for commit
/// records, and stops at the first entry it cannot read, silently: a damaged entry in the middle of the
/// committed log makes it recover to an earlier commit, and the store's next appends then overwrite records
/// it had acknowledged. FASTER cannot report it (the scan swallows the error), so the store looks itself,
/// reading the files directly with FASTER's entry format: a 12-byte header (an 8-byte checksum, XOR of the
/// entry's 8-byte words, then a 4-byte length, negative for a commit record), the body padded to 4 bytes,
/// entries never crossing a page, zeros where a page's unused end or an unwritten page is.</para>
/// <para>What it finds, from the start of the page holding the recovered commit point C (records before C on
/// that page are held in memory after recovery, where FASTER's own scans skip the checksum):</para>
/// <list type="bullet">
/// <item>below C, any entry that fails its checksum or cannot be parsed: a committed record is damaged;</item>
/// <item>past C, a valid commit record: a commit that recovery did not reach (something before it was unreadable);</item>
/// <item>past C, an entry that fails its checksum, has an impossible length, or is cut off by the end of its file.</item>
/// </list>
/// <para>Zeros past C and complete entries with no commit after them are what a crash leaves (writes that
/// never got their commit): they were never acknowledged and are dropped silently, as FASTER does.</para>
/// </remarks>
internal static class LogVerifier
{
    private const int HeaderSize = LogRecords.FasterEntryHeaderSize;

    /// <summary>Scans from max(<paramref name="beginAddress"/>, the page start of <paramref name="committedUntil"/>) to the end of the files.</summary>
    public static LogTailReport Scan(string dataDirectory, int pageSizeBits, int segmentSizeBits, long beginAddress, long committedUntil)
    {
        var pageSize = 1 << pageSizeBits;
        var pageStart = committedUntil & ~((long)pageSize - 1);
        var start = Math.Max(beginAddress, pageStart);
        var report = new LogTailReport(start, committedUntil);
        var page = new byte[pageSize];
        using var files = new SegmentFiles(dataDirectory, segmentSizeBits);
        for (var address = start & ~((long)pageSize - 1); ; address += pageSize)
        {
            var available = files.ReadPage(address, page, report);
            if (available <= 0)
            {
                report.DataEnd = Math.Max(report.DataEnd, address);
                return report;
            }

            report.DataEnd = address + available;
            var offset = (int)Math.Max(0, start - address);
            if (!ScanPage(page, available, address, offset, committedUntil, report))
            {
                return report; // a damaged committed record: nothing further changes the verdict
            }
        }
    }

    /// <summary>
    /// Overwrites the log from <paramref name="from"/> to <paramref name="to"/> with zeros, so that neither
    /// FASTER's next recovery nor its next appends meet what was there. The store is closed while this runs.
    /// </summary>
    public static void Erase(string dataDirectory, int segmentSizeBits, long from, long to)
    {
        using var files = new SegmentFiles(dataDirectory, segmentSizeBits);
        files.Zero(from, to);
    }

    /// <summary>The XOR FASTER uses for per-entry checksums, over the length field and the unpadded body.</summary>
    internal static ulong Checksum(ReadOnlySpan<byte> lengthAndBody)
    {
        ulong result = 0;
        var i = 0;
        for (; i + 8 <= lengthAndBody.Length; i += 8)
        {
            result ^= BinaryPrimitives.ReadUInt64LittleEndian(lengthAndBody[i..]);
        }

        for (; i < lengthAndBody.Length; i++)
        {
            result ^= lengthAndBody[i];
        }

        return result;
    }

    /// <returns>False when a committed record is damaged (the report holds it).</returns>
    private static bool ScanPage(byte[] page, int available, long pageAddress, int offset, long committedUntil, LogTailReport report)
    {
        var pageSize = page.Length;
        while (offset + HeaderSize <= pageSize)
        {
            var address = pageAddress + offset;
            if (offset + HeaderSize > available)
            {
                if (HasData(page.AsSpan(offset, available - offset)))
                {
                    return Damaged(report, address, committedUntil, "the file ends inside the entry's header", page, available, offset);
                }

                return true;
            }

            var checksum = BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(offset));
            var length = BinaryPrimitives.ReadInt32LittleEndian(page.AsSpan(offset + 8));
            if (length == 0)
            {
                if (checksum != 0)
                {
                    return Damaged(report, address, committedUntil, "a zero length with a non-zero checksum", page, available, offset);
                }

                return true; // a page's unused end (or an unwritten page): FASTER moves to the next page too
            }

            var bodyLength = length == int.MinValue ? int.MaxValue : Math.Abs(length);
            var entrySize = (long)HeaderSize + ((bodyLength + 3L) & ~3L);
            if (offset + entrySize > pageSize)
            {
                return Damaged(report, address, committedUntil, $"a length of {length} bytes, which does not fit its page", page, available, offset);
            }

            if (offset + HeaderSize + bodyLength > available)
            {
                return Damaged(report, address, committedUntil, "the file ends inside the entry", page, available, offset);
            }

            if (Checksum(page.AsSpan(offset + 8, 4 + bodyLength)) != checksum)
            {
                return Damaged(report, address, committedUntil, "a checksum mismatch", page, available, offset);
            }

            if (address >= committedUntil)
            {
                if (length < 0)
                {
                    report.CommitFoundBeyond(address);
                }
                else
                {
                    report.UncommittedEntry(entrySize);
                }
            }

            offset += (int)entrySize;
        }

        return true;
    }

    private static bool Damaged(LogTailReport report, long address, long committedUntil, string why, byte[] page, int available, int offset)
    {
        if (address < committedUntil)
        {
            report.CommittedDamage(address, why);
            return false;
        }

        report.DamageBeyond(address, why);

        // The rest of the page cannot be walked (the length is untrustworthy); a commit record anywhere in it
        // still proves loss. Entries are 4-byte aligned; a false match needs a 64-bit checksum to agree by chance.
        for (var probe = offset + 4; probe + HeaderSize <= available; probe += 4)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(page.AsSpan(probe + 8));
            if (length >= 0 || length == int.MinValue || probe + HeaderSize - length > available)
            {
                continue;
            }

            if (Checksum(page.AsSpan(probe + 8, 4 - length)) == BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(probe)))
            {
                report.CommitFoundBeyond(address - offset + probe);
            }
        }

        return true;
    }

    private static bool HasData(ReadOnlySpan<byte> bytes) => bytes.IndexOfAnyExcept((byte)0) >= 0;

    /// <summary>The local device's segment files (<c>relay.log.N</c>), read and written at log addresses.</summary>
    private sealed class SegmentFiles : IDisposable
    {
        private readonly string _prefix;
        private readonly int _segmentSizeBits;
        private Microsoft.Win32.SafeHandles.SafeFileHandle? _handle;
        private long _segment = -1;

        public SegmentFiles(string dataDirectory, int segmentSizeBits)
        {
            _prefix = FasterLogSetup.SegmentPathPrefix(dataDirectory);
            _segmentSizeBits = segmentSizeBits;
        }

        /// <summary>Reads the page at <paramref name="address"/>; returns how many of its bytes the file holds (0: no file or nothing there).</summary>
        public int ReadPage(long address, byte[] page, LogTailReport report)
        {
            if (!Open(address >> _segmentSizeBits, writable: false))
            {
                return 0;
            }

            var position = address & ((1L << _segmentSizeBits) - 1);
            var total = 0;
            try
            {
                while (total < page.Length)
                {
                    var n = RandomAccess.Read(_handle!, page.AsSpan(total), position + total);
                    if (n == 0)
                    {
                        break;
                    }

                    total += n;
                }
            }
            catch (IOException ex)
            {
                report.ReadError(address + total, ex.Message);
                return 0;
            }

            page.AsSpan(total).Clear();
            return total;
        }

        public void Zero(long from, long to)
        {
            var zeros = new byte[1 << 16];
            for (var address = from; address < to;)
            {
                var segmentEnd = ((address >> _segmentSizeBits) + 1) << _segmentSizeBits;
                var end = Math.Min(to, segmentEnd);
                if (Open(address >> _segmentSizeBits, writable: true))
                {
                    var length = RandomAccess.GetLength(_handle!);
                    var position = address & ((1L << _segmentSizeBits) - 1);
                    var stop = Math.Min(length, position + (end - address));
                    while (position < stop)
                    {
                        var n = (int)Math.Min(zeros.Length, stop - position);
                        RandomAccess.Write(_handle!, zeros.AsSpan(0, n), position);
                        position += n;
                    }

                    RandomAccess.FlushToDisk(_handle!);
                }

                address = end;
            }
        }

        public void Dispose() => _handle?.Dispose();

        private bool Open(long segment, bool writable)
        {
            if (segment == _segment && _handle is not null)
            {
                return true;
            }

            _handle?.Dispose();
            _handle = null;
            _segment = segment;
            var path = _prefix + "." + segment.ToString(CultureInfo.InvariantCulture);
            if (!File.Exists(path))
            {
                return false;
            }

            _handle = File.OpenHandle(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite);
            return true;
        }
    }
}

/// <summary>What <see cref="LogVerifier.Scan"/> found past the recovered commit point.</summary>
internal sealed class LogTailReport
{
    public LogTailReport(long scannedFrom, long committedUntil)
    {
        ScannedFrom = scannedFrom;
        CommittedUntil = committedUntil;
    }

    public long ScannedFrom { get; }

    public long CommittedUntil { get; }

    /// <summary>Where the files' data ends (the last page read, up to its file's end).</summary>
    public long DataEnd { get; set; }

    /// <summary>First damaged entry below the commit point; -1 if none.</summary>
    public long DamagedCommittedAt { get; private set; } = -1;

    /// <summary>First damaged (or cut-off, or unreadable) entry past the commit point; -1 if none.</summary>
    public long DamageBeyondAt { get; private set; } = -1;

    public string? Damage { get; private set; }

    /// <summary>First commit record past the commit point; -1 if none.</summary>
    public long FirstCommitBeyond { get; private set; } = -1;

    public long LastCommitBeyond { get; private set; } = -1;

    public int CommitsBeyond { get; private set; }

    /// <summary>Complete entries past the commit point (never committed).</summary>
    public int UncommittedEntries { get; private set; }

    public long UncommittedBytes { get; private set; }

    /// <summary>Nothing past the commit point but zeros and entries that were never committed.</summary>
    public bool IsClean => DamagedCommittedAt < 0 && DamageBeyondAt < 0 && FirstCommitBeyond < 0;

    /// <summary>A damaged committed record cannot be dropped: FASTER's commit metadata already covers it.</summary>
    public bool CanTruncate => DamagedCommittedAt < 0;

    public void CommittedDamage(long address, string why)
    {
        DamagedCommittedAt = address;
        Damage = why;
    }

    public void DamageBeyond(long address, string why)
    {
        if (DamageBeyondAt < 0)
        {
            DamageBeyondAt = address;
            Damage = why;
        }
    }

    public void ReadError(long address, string message) => DamageBeyond(address, "a read error (" + message + ")");

    public void CommitFoundBeyond(long address)
    {
        if (FirstCommitBeyond < 0)
        {
            FirstCommitBeyond = address;
        }

        LastCommitBeyond = address;
        CommitsBeyond++;
    }

    public void UncommittedEntry(long size)
    {
        UncommittedEntries++;
        UncommittedBytes += size;
    }

    /// <summary>One paragraph for the operator: where, what, and what to do.</summary>
    public string Describe(string dataDirectory)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"The relay log in '{dataDirectory}' is damaged: ");
        if (DamagedCommittedAt >= 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"the committed entry at log address {DamagedCommittedAt} has {Damage}. ");
            text.Append("Its commit is already recorded, so it cannot be dropped. Restore the data folder from a backup.");
            return text.ToString();
        }

        text.Append(CultureInfo.InvariantCulture, $"recovery reached the commit at log address {CommittedUntil}, but past it ");
        if (DamageBeyondAt >= 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"the entry at {DamageBeyondAt} has {Damage}");
            text.Append(FirstCommitBeyond >= 0 ? " and " : ". ");
        }

        if (FirstCommitBeyond >= 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{CommitsBeyond} later commit record(s) (first at {FirstCommitBeyond}, last at {LastCommitBeyond}) prove that records acknowledged as durable were not recovered. ");
        }
        else if (DamageBeyondAt >= 0)
        {
            text.Append("A crash leaves zeros or whole entries there, not damaged ones: the device may have lost or changed written data. ");
        }

        text.Append(CultureInfo.InvariantCulture, $"Refusing to start rather than overwrite them. Keep a copy of the folder; to drop everything from log address {CommittedUntil} on and start, set Storage:TruncateDamagedLog=true for one start.");
        return text.ToString();
    }
}
