using System.Globalization;
using System.Text;

namespace EdgeRelay.Storage.Faster;

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
