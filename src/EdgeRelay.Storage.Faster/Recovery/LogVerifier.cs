using System.Buffers.Binary;

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
}
