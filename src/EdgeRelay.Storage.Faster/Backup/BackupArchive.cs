using System.Formats.Tar;
using System.Security.Cryptography;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// A backup on the wire: a tar stream (POSIX pax) of the files, then <see cref="BackupManifest.FileName"/> as its
/// last entry, with each file's SHA-256 computed while it was written. The relay writes it
/// (<see cref="WriteAsync"/>); the client unpacks it into a folder and checks it against the manifest
/// (<see cref="ExtractAsync"/>); <see cref="BackupRestore"/> turns that folder into a data folder.
/// </summary>
/// <remarks>
/// The manifest goes last because the hashes are only known once the files were read: the relay streams the
/// files once, straight from the log, without staging a copy. A stream cut short therefore has no manifest, and
/// extraction refuses it.
/// </remarks>
public static class BackupArchive
{
    /// <summary>The HTTP response header that carries the message log's commit point, before the stream.</summary>
    public const string CommitPointHeader = "X-EdgeRelay-Commit-Point";

    private const int CopyBuffer = 1 << 16;

    /// <summary>Writes the sets' files and the loose <paramref name="files"/> (paths relative to the backup's root), then the manifest.</summary>
    /// <param name="progress">Called with the total bytes written so far, after each chunk.</param>
    public static async Task<BackupManifest> WriteAsync(Stream output, IReadOnlyList<BackupSet> sets, IReadOnlyList<BackupFile> files, TimeProvider time, Action<long>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sets);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(time);
        var manifest = new BackupManifest { CreatedAt = time.GetUtcNow() };
        foreach (var set in sets)
        {
            manifest.Stores.Add(new BackupManifest.StoreEntry
            {
                Format = set.Format,
                Logs = [.. set.CommitPoints.Select(p => new BackupManifest.LogEntry { Directory = p.Directory, BeginAddress = p.BeginAddress, CommittedUntil = p.CommittedUntil })],
            });
        }

        long total = 0;
        var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await using (writer.ConfigureAwait(false))
        {
            foreach (var file in sets.SelectMany(s => s.Files).Concat(files))
            {
                BackupPaths.Check(file.Path);
                var source = file.Open();
                if (source is null)
                {
                    continue; // gone since it was listed (an attachment that expired): not part of this backup
                }

                using var hashing = new HashingReadStream(source, file.Length, read => progress?.Invoke(total + read));
                var entry = new PaxTarEntry(TarEntryType.RegularFile, file.Path) { DataStream = hashing, Mode = OwnerOnly };
                await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
                total += file.Length;
                manifest.Files.Add(new BackupManifest.FileEntry { Path = file.Path, Length = file.Length, Sha256 = hashing.HashHex() });
            }

            using var json = new MemoryStream(manifest.ToJson(), writable: false);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, BackupManifest.FileName) { DataStream = json, Mode = OwnerOnly }, ct).ConfigureAwait(false);
        }

        return manifest;
    }

    /// <summary>
    /// Unpacks a backup stream into <paramref name="directory"/> (created, owner only; must be empty or absent),
    /// and checks every file against the manifest at its end.
    /// </summary>
    /// <exception cref="BackupTargetNotEmptyException">The folder holds something already.</exception>
    /// <exception cref="InvalidDataException">The stream is cut short, or a file differs from the manifest (named).</exception>
    public static async Task<BackupManifest> ExtractAsync(Stream input, string directory, Action<long>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        directory = Path.GetFullPath(directory);
        if (!BackupPaths.IsEmptyOrMissing(directory))
        {
            throw new BackupTargetNotEmptyException(directory);
        }

        BackupPaths.CreateFolder(directory);
        var written = new Dictionary<string, (long Length, string Sha256)>(StringComparer.Ordinal);
        BackupManifest? manifest = null;
        long total = 0;
        var reader = new TarReader(input, leaveOpen: true);
        await using (reader.ConfigureAwait(false))
        {
            while (await ReadEntryAsync(reader, ct).ConfigureAwait(false) is { } entry)
            {
                if (entry.EntryType != TarEntryType.RegularFile || entry.DataStream is null || manifest is not null)
                {
                    throw new InvalidDataException($"The backup stream holds an unexpected entry '{entry.Name}'; refusing it.");
                }

                if (entry.Name == BackupManifest.FileName)
                {
                    var bytes = await ReadSmallAsync(entry.DataStream, ct).ConfigureAwait(false);
                    manifest = BackupManifest.Parse(bytes);
                    await using var file = BackupPaths.CreateFile(Path.Combine(directory, BackupManifest.FileName));
                    await file.WriteAsync(bytes, ct).ConfigureAwait(false);
                    file.Flush(flushToDisk: true);
                    continue;
                }

                if (written.ContainsKey(entry.Name))
                {
                    throw new InvalidDataException($"The backup stream holds '{entry.Name}' twice; refusing it.");
                }

                var path = BackupPaths.Prepare(directory, entry.Name);
                await using var target = BackupPaths.CreateFile(path);
                var (length, sha) = await CopyHashedAsync(entry.DataStream, target, read => progress?.Invoke(total + read), ct).ConfigureAwait(false);
                target.Flush(flushToDisk: true);
                total += length;
                written[entry.Name] = (length, sha);
            }
        }

        if (manifest is null)
        {
            throw new InvalidDataException("The backup stream ended before its manifest: it is incomplete (the connection was cut, or the relay failed while writing it).");
        }

        foreach (var file in manifest.Files)
        {
            if (!written.TryGetValue(file.Path, out var got))
            {
                throw new InvalidDataException($"The backup file '{file.Path}' named in the manifest is missing from the stream.");
            }

            if (got.Length != file.Length || got.Sha256 != file.Sha256)
            {
                throw new InvalidDataException($"The backup file '{file.Path}' does not match the manifest ({got.Length} bytes, SHA-256 {got.Sha256}; expected {file.Length} bytes, {file.Sha256}).");
            }
        }

        return manifest;
    }

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    internal static async Task<(long Length, string Sha256)> CopyHashedAsync(Stream source, Stream destination, Action<long>? progress, CancellationToken ct)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[CopyBuffer];
        long length = 0;
        int n;
        while ((n = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            sha.AppendData(buffer, 0, n);
            await destination.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            length += n;
            progress?.Invoke(length);
        }

        return (length, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    private static async Task<TarEntry?> ReadEntryAsync(TarReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FormatException or EndOfStreamException)
        {
            throw new InvalidDataException($"The backup stream is damaged or cut short: {ex.Message}", ex);
        }
    }

    private static async Task<byte[]> ReadSmallAsync(Stream stream, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[CopyBuffer];
        int n;
        while ((n = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > BackupManifest.MaxBytes)
            {
                throw new InvalidDataException($"The backup's {BackupManifest.FileName} is larger than {BackupManifest.MaxBytes} bytes; refusing it.");
            }

            buffer.Write(chunk, 0, n);
        }

        return buffer.ToArray();
    }
}

/// <summary>A backup or restore target that already holds files: nothing is written into it.</summary>
public sealed class BackupTargetNotEmptyException(string directory)
    : IOException($"The folder '{directory}' is not empty; a backup is unpacked and restored only into an empty or new folder.")
{
    public string Directory { get; } = directory;
}
