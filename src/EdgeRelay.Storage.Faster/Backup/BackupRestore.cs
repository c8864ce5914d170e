using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Turns an unpacked backup (a folder with <see cref="BackupManifest.FileName"/>) into a data folder a relay
/// starts on, recovering each log to exactly the backup's commit point.
/// </summary>
public static class BackupRestore
{
    /// <summary>
    /// Checks every file of the backup against its manifest (length and SHA-256) while copying it into
    /// <paramref name="dataDirectory"/> (created, owner only), then writes each log's FASTER commit file for the
    /// backup's commit point. On any refusal nothing stays in the target.
    /// </summary>
    /// <param name="progress">Called with the total bytes copied so far.</param>
    /// <exception cref="BackupTargetNotEmptyException">The target holds something already; nothing was written.</exception>
    /// <exception cref="InvalidDataException">The backup is damaged or incomplete; the message names the file.</exception>
    public static async Task<BackupManifest> RestoreAsync(string backupDirectory, string dataDirectory, Action<long>? progress, CancellationToken ct)
    {
        backupDirectory = Path.GetFullPath(backupDirectory);
        dataDirectory = Path.GetFullPath(dataDirectory);
        if (!BackupPaths.IsEmptyOrMissing(dataDirectory))
        {
            throw new BackupTargetNotEmptyException(dataDirectory);
        }

        var manifestPath = Path.Combine(backupDirectory, BackupManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            throw new InvalidDataException($"'{backupDirectory}' holds no {BackupManifest.FileName}: it is not a backup, or an incomplete one.");
        }

        if (new FileInfo(manifestPath).Length > BackupManifest.MaxBytes)
        {
            throw new InvalidDataException($"The backup's {BackupManifest.FileName} is larger than {BackupManifest.MaxBytes} bytes; refusing it.");
        }

        var manifest = BackupManifest.Parse(await File.ReadAllBytesAsync(manifestPath, ct));
        var created = !Directory.Exists(dataDirectory);
        BackupPaths.CreateFolder(dataDirectory);
        try
        {
            long total = 0;
            foreach (var file in manifest.Files)
            {
                var source = Path.Combine(backupDirectory, file.Path.Replace('/', Path.DirectorySeparatorChar));
                if (!File.Exists(source))
                {
                    throw new InvalidDataException($"The backup file '{file.Path}' is missing.");
                }

                await using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
                await using (var output = BackupPaths.CreateFile(BackupPaths.Prepare(dataDirectory, file.Path)))
                {
                    var copied = total;
                    var (length, sha) = await BackupArchive.CopyHashedAsync(input, output, read => progress?.Invoke(copied + read), ct);
                    if (length != file.Length || sha != file.Sha256)
                    {
                        throw new InvalidDataException($"The backup file '{file.Path}' is damaged: {length} bytes with SHA-256 {sha}, the manifest says {file.Length} bytes with {file.Sha256}. Nothing was restored.");
                    }

                    output.Flush(flushToDisk: true);
                    total += length;
                }
            }

            foreach (var log in manifest.Stores.SelectMany(s => s.Logs))
            {
                WriteCommit(Path.Combine(dataDirectory, log.Directory.Replace('/', Path.DirectorySeparatorChar)), log);
            }

            foreach (var folder in Directory.EnumerateDirectories(dataDirectory, "*", SearchOption.AllDirectories).Append(dataDirectory))
            {
                DirectorySync.Flush(folder);
            }
        }
        catch
        {
            Clear(dataDirectory, created);
            throw;
        }

        return manifest;
    }

    /// <summary>
    /// FASTER's commit file for exactly the backup's commit point: recovery starts from it, scans forward for
    /// later commit records and finds none (the copy ends there), so the log comes back at that point.
    /// </summary>
    private static void WriteCommit(string logDirectory, BackupManifest.LogEntry log)
    {
        if (log.BeginAddress <= 0 || log.CommittedUntil < log.BeginAddress)
        {
            throw new InvalidDataException($"The backup's manifest gives the log '{log.Directory}' an impossible commit point ({log.BeginAddress}, {log.CommittedUntil}).");
        }

        BackupPaths.CreateFolder(logDirectory);
        var info = new FasterLogRecoveryInfo { BeginAddress = log.BeginAddress, UntilAddress = log.CommittedUntil, CommitNum = 1 };
        using var commits = FasterLogSetup.CreateCommitManager(logDirectory);
        commits.Commit(log.BeginAddress, log.CommittedUntil, info.ToByteArray(), info.CommitNum, forceWriteMetadata: true);
    }

    private static void Clear(string dataDirectory, bool created)
    {
        try
        {
            if (created)
            {
                Directory.Delete(dataDirectory, recursive: true);
                return;
            }

            foreach (var entry in new DirectoryInfo(dataDirectory).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo folder)
                {
                    folder.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }
            }
        }
        catch (IOException)
        {
            // The refusal that brought us here is what the operator must see; a leftover is named by the next attempt.
        }
    }
}
