namespace EdgeRelay.Storage;

/// <summary>
/// One file of a backup: its path relative to the store's folder (forward slashes), its length, and how to
/// read exactly that many bytes of it.
/// </summary>
/// <param name="Path">Relative path, with <c>/</c> separators; never rooted, never <c>..</c>.</param>
/// <param name="Length">The number of bytes <paramref name="Open"/>'s stream yields.</param>
/// <param name="Open">Opens the content; null when the file went away before it was read (an expired attachment).</param>
public sealed record BackupFile(string Path, long Length, Func<Stream?> Open);

/// <summary>
/// Where a log of the backup ends: the store's <see cref="BackupFile"/>s hold the log from <paramref name="BeginAddress"/>
/// up to <paramref name="CommittedUntil"/>, and a restore makes that the log's commit point.
/// </summary>
/// <param name="Directory">The log's folder relative to the backup's root, with <c>/</c> separators.</param>
public sealed record BackupCommitPoint(string Directory, long BeginAddress, long CommittedUntil);

/// <summary>
/// The files of a store at one commit point (see <see cref="IBackupSource.BeginBackupAsync"/>). Disposing it lets
/// the store's maintenance run again.
/// </summary>
/// <remarks>
/// A set and the sets made from it by <see cref="Under"/> share one hold on the store: disposing any of them
/// ends it, once. The store keeps its maintenance (and its closing) waiting until then, so a hold that no
/// handle could end anymore would leave maintenance stopped and the store unable to close.
/// </remarks>
public sealed class BackupSet : IAsyncDisposable
{
    private readonly Hold _hold;

    public BackupSet(string format, IReadOnlyList<BackupFile> files, IReadOnlyList<BackupCommitPoint> commitPoints, Func<ValueTask> release)
        : this(format, files, commitPoints, new Hold(release))
    {
    }

    private BackupSet(string format, IReadOnlyList<BackupFile> files, IReadOnlyList<BackupCommitPoint> commitPoints, Hold hold)
    {
        Format = format;
        Files = files;
        CommitPoints = commitPoints;
        _hold = hold;
    }

    /// <summary>The store's on-disk format, as it names it; a restore refuses a backup of a format it does not read.</summary>
    public string Format { get; }

    public IReadOnlyList<BackupFile> Files { get; }

    public IReadOnlyList<BackupCommitPoint> CommitPoints { get; }

    /// <summary>
    /// Prefixes every path (files and logs) with <paramref name="folder"/>, for a store that lives in a subfolder
    /// of the backup. The result shares this set's hold: disposing either ends it.
    /// </summary>
    public BackupSet Under(string folder) =>
        new(
            Format,
            [.. Files.Select(f => f with { Path = folder + "/" + f.Path })],
            [.. CommitPoints.Select(c => c with { Directory = folder + "/" + c.Directory })],
            _hold);

    public ValueTask DisposeAsync() => _hold.EndAsync();

    private sealed class Hold(Func<ValueTask> release)
    {
        private Func<ValueTask>? _release = release;

        public ValueTask EndAsync() => Interlocked.Exchange(ref _release, null)?.Invoke() ?? ValueTask.CompletedTask;
    }
}
