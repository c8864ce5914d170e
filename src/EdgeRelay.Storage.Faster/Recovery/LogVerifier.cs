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
/// <para>What it refuses, from the start of the page holding the recovered commit point C (records before C on
/// that page are held in memory after recovery, where FASTER's own scans skip the checksum):</para>
/// <list type="bullet">
/// <item>below C, any entry that fails its checksum or cannot be parsed: a committed record is damaged;</item>
/// <item>past C, a valid commit record that recovery did not reach although nothing but intact entries lie
/// before it (FASTER could not read them: a read error);</item>
/// <item>past C, an entry that fails its checksum, has an impossible length, or is cut off by the end of its
/// file, unless it has the shape of a write cut short (below).</item>
/// </list>
/// <para>What a crash leaves past C, and is dropped (logged) as FASTER drops it: complete entries with no
/// commit after them (pages flushed before their commit), zeros, and <b>torn writes</b>: an entry whose bytes
/// from a 512-byte boundary inside it to the end of its page are zeros or missing (a write interrupted at a
/// sector or page-cache boundary; the store zeroes the log past C at every open, so what a write did not
/// reach is zeros or the file's end). A commit record behind a torn write belongs to the flush that was
/// interrupted, which therefore never completed and was never acknowledged. A cut at any other place (not on
/// a sector boundary), or garbage, is not what a crash leaves.</para>
/// <para>What it cannot see: a file cut on a sector boundary inside the last commit's records, after the last
/// address snapshot (which records how far the log was committed), looks like a crash that interrupted a
/// write; recovery then keeps what it can read.</para>
/// </remarks>
internal static class LogVerifier
{
    private const int HeaderSize = LogRecords.FasterEntryHeaderSize;

    /// <summary>Writes are torn at no finer a grain than this (a disk sector; the page cache tears at 4 KiB).</summary>
    private const int TearGrain = 512;

    /// <summary>Scans from max(<paramref name="beginAddress"/>, the page start of <paramref name="committedUntil"/>) to the end of the files.</summary>
    public static LogTailReport Scan(string dataDirectory, int pageSizeBits, int segmentSizeBits, long beginAddress, long committedUntil)
    {
        var pageSize = 1 << pageSizeBits;
        var pageStart = committedUntil & ~((long)pageSize - 1);
        var start = Math.Max(beginAddress, pageStart);
        var report = new LogTailReport(start, committedUntil);
        var page = new byte[pageSize];
        using var files = new SegmentFiles(dataDirectory, segmentSizeBits);
        for (var address = start & ~((long)pageSize - 1); ;)
        {
            var available = files.ReadPage(address, page, report);
            if (available < 0)
            {
                return report; // no segment file here: the end of the log
            }

            if (available == 0)
            {
                // Past the end of this segment's file: pages never written. A later segment may still hold data.
                report.Unwritten(address);
                address = ((address >> segmentSizeBits) + 1) << segmentSizeBits;
                continue;
            }

            var offset = (int)Math.Max(0, start - address);
            if (!ScanPage(page, available, address, offset, committedUntil, report))
            {
                return report; // a damaged committed record: nothing further changes the verdict
            }

            address += pageSize;
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
            if (offset >= available)
            {
                return true; // the file ends on this entry boundary: nothing more was written
            }

            if (offset + HeaderSize > available)
            {
                // Writes end on a sector boundary, which can fall a few bytes past the last entry: zeros there
                // are the unused rest of the sector, not a header.
                return page.AsSpan(offset, available - offset).IndexOfAnyExcept((byte)0) < 0
                    || Damaged(report, address, committedUntil, "the file ends inside the entry's header", page, available, offset, HeaderSize);
            }

            var checksum = BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(offset));
            var length = BinaryPrimitives.ReadInt32LittleEndian(page.AsSpan(offset + 8));

            if (length == 0 && checksum == 0)
            {
                if (offset == 0)
                {
                    // A page never written. FASTER's recovery stops here; anything after it belongs to a flush
                    // that did not complete (pages can land out of order), so it is a torn write, not a proof.
                    report.Unwritten(address);
                }

                return true; // otherwise a page's unused end: FASTER moves to the next page too
            }

            var bodyLength = length == int.MinValue ? int.MaxValue : Math.Abs(length);
            var entrySize = (long)HeaderSize + ((bodyLength + 3L) & ~3L);
            if (length == 0 || offset + entrySize > pageSize)
            {
                // Torn only if the cut is inside the header itself: a written header has a sane length.
                return Damaged(report, address, committedUntil, $"a length of {length} bytes, which does not fit its page", page, available, offset, HeaderSize);
            }

            if (offset + HeaderSize + bodyLength > available)
            {
                return Damaged(report, address, committedUntil, "the file ends inside the entry", page, available, offset, (int)entrySize);
            }

            if (Checksum(page.AsSpan(offset + 8, 4 + bodyLength)) != checksum)
            {
                return Damaged(report, address, committedUntil, "a checksum mismatch", page, available, offset, (int)entrySize);
            }

            if (address >= committedUntil)
            {
                if (length < 0)
                {
                    report.CommitFoundBeyond(address, address + entrySize);
                }
                else
                {
                    report.UncommittedEntry(entrySize, address + entrySize);
                }
            }

            offset += (int)entrySize;
        }

        return true;
    }

    private static bool Damaged(LogTailReport report, long address, long committedUntil, string why, byte[] page, int available, int offset, int extent)
    {
        if (address < committedUntil)
        {
            report.CommittedDamage(address, why);
            return false;
        }

        var torn = IsTorn(page, available, offset, extent);
        report.DamageBeyond(address, torn ? why + ", then zeros from a sector boundary on: a write cut short" : why, torn, address - offset + available);
        if (torn)
        {
            return true; // nothing but zeros (or the file's end) follows in this page
        }

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
                report.CommitFoundBeyond(address - offset + probe, address - offset + probe + HeaderSize - length);
            }
        }

        return true;
    }

    /// <summary>
    /// True when the entry at <paramref name="offset"/> looks like a write cut short: from a
    /// <see cref="TearGrain"/>-aligned offset inside its first <paramref name="extent"/> bytes to the end of the
    /// page, every byte is zero or past the end of the file.
    /// </summary>
    private static bool IsTorn(byte[] page, int available, int offset, int extent)
    {
        var lastData = page.AsSpan(0, available).LastIndexOfAnyExcept((byte)0);
        var zerosFrom = lastData < 0 ? 0 : lastData + 1;
        if (zerosFrom <= offset)
        {
            return false; // the entry is all zeros: not an entry (handled as a page end)
        }

        var tear = (zerosFrom + TearGrain - 1) / TearGrain * TearGrain;
        var fromFileEnd = zerosFrom == available && available % TearGrain != 0;
        return !fromFileEnd && tear < offset + extent;
    }

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

        /// <summary>Reads the page at <paramref name="address"/>; returns how many of its bytes the file holds (0: past its end; -1: no such file).</summary>
        public int ReadPage(long address, byte[] page, LogTailReport report)
        {
            if (!Open(address >> _segmentSizeBits, writable: false))
            {
                return -1;
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
                return -1;
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

/// <summary>What <see cref="LogVerifier.Scan"/> found past the recovered commit point, and the verdict.</summary>
internal sealed class LogTailReport
{
    private long _gapAt = -1;

    public LogTailReport(long scannedFrom, long committedUntil)
    {
        ScannedFrom = scannedFrom;
        CommittedUntil = committedUntil;
        DataEnd = committedUntil;
    }

    public long ScannedFrom { get; }

    public long CommittedUntil { get; }

    /// <summary>Where the last data past the commit point ends (what dropping the tail erases up to).</summary>
    public long DataEnd { get; private set; }

    /// <summary>First damaged entry below the commit point; -1 if none.</summary>
    public long DamagedCommittedAt { get; private set; } = -1;

    /// <summary>First damaged (or cut-off, or unreadable) entry past the commit point that is not a torn write; -1 if none.</summary>
    public long DamageBeyondAt { get; private set; } = -1;

    /// <summary>What the first damage (of either kind) was.</summary>
    public string? Damage { get; private set; }

    /// <summary>First torn write past the commit point; -1 if none.</summary>
    public long TornAt { get; private set; } = -1;

    /// <summary>First commit record past the commit point with nothing damaged before it: proof that recovery stopped short; -1 if none.</summary>
    public long ProvenCommitBeyond { get; private set; } = -1;

    /// <summary>Commit records past the commit point (proven or behind a torn write).</summary>
    public int CommitsBeyond { get; private set; }

    public long LastCommitBeyond { get; private set; } = -1;

    /// <summary>Complete entries past the commit point (never committed).</summary>
    public int UncommittedEntries { get; private set; }

    public long UncommittedBytes { get; private set; }

    /// <summary>Nothing past the commit point but what a crash leaves: it can be dropped.</summary>
    public bool IsClean => DamagedCommittedAt < 0 && DamageBeyondAt < 0 && ProvenCommitBeyond < 0;

    /// <summary>A damaged committed record cannot be dropped: FASTER's commit metadata already covers it.</summary>
    public bool CanTruncate => DamagedCommittedAt < 0;

    /// <summary>Anything at all past the commit point (to drop, and to log).</summary>
    public bool HasTail => UncommittedEntries > 0 || CommitsBeyond > 0 || TornAt >= 0 || DamageBeyondAt >= 0;

    public void CommittedDamage(long address, string why)
    {
        DamagedCommittedAt = address;
        Damage = why;
    }

    /// <summary>A page never written, past the commit point: a gap, which makes a torn write of any data after it.</summary>
    public void Unwritten(long address)
    {
        if (_gapAt < 0)
        {
            _gapAt = address;
        }
    }

    public void DamageBeyond(long address, string why, bool torn, long end)
    {
        Data(end);
        if (torn)
        {
            if (TornAt < 0)
            {
                TornAt = address;
                Damage ??= why;
            }

            return;
        }

        if (DamageBeyondAt < 0)
        {
            DamageBeyondAt = address;
            Damage = why;
        }
    }

    public void ReadError(long address, string message) => DamageBeyond(address, "a read error (" + message + ")", torn: false, end: address);

    public void CommitFoundBeyond(long address, long end)
    {
        Data(end);
        if (TornAt < 0 && DamageBeyondAt < 0 && ProvenCommitBeyond < 0)
        {
            ProvenCommitBeyond = address;
        }

        LastCommitBeyond = address;
        CommitsBeyond++;
    }

    public void UncommittedEntry(long size, long end)
    {
        Data(end);
        UncommittedEntries++;
        UncommittedBytes += size;
    }

    /// <summary>Data found up to <paramref name="end"/>: a gap before it was an interrupted write.</summary>
    private void Data(long end)
    {
        if (_gapAt >= 0)
        {
            if (TornAt < 0)
            {
                TornAt = _gapAt;
                Damage ??= "a page never written, with data after it: a flush that did not complete";
            }

            _gapAt = -1;
        }

        DataEnd = Math.Max(DataEnd, end);
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

        text.Append(CultureInfo.InvariantCulture, $"recovery reached the commit at log address {CommittedUntil}, but ");
        if (ProvenCommitBeyond >= 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"an intact commit record lies past it at {ProvenCommitBeyond} ({CommitsBeyond} in all, the last at {LastCommitBeyond}): records acknowledged as durable were not recovered (the device failed to read them). ");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"past it the entry at {DamageBeyondAt} has {Damage}, which is not what a crash leaves (a crash leaves zeros or a write cut on a sector boundary): the device may have lost or changed written data. ");
        }

        text.Append(CultureInfo.InvariantCulture, $"Refusing to start rather than overwrite it. Keep a copy of the folder; to drop everything from log address {CommittedUntil} on and start, set Storage:TruncateDamagedLog=true for one start.");
        return text.ToString();
    }
}
