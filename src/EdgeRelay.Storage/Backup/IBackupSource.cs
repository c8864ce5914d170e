namespace EdgeRelay.Storage;

/// <summary>
/// A store that can hand out a consistent copy of its files while it keeps running: what an online backup
/// reads. Implemented by backends whose state is files in a folder; a replicated backend has its own means.
/// </summary>
public interface IBackupSource
{
    /// <summary>
    /// Makes everything appended so far durable, fixes that commit point, and returns the files that hold the
    /// state up to it. Until the returned set is disposed the store keeps every one of those files as it was
    /// (no truncation, compaction or snapshot rewrite runs); appends and reads go on as usual.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The store is closed or closing.</exception>
    Task<BackupSet> BeginBackupAsync(CancellationToken ct = default);
}
