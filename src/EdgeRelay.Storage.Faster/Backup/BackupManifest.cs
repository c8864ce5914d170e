using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// What a backup holds, written last into it as <c>manifest.json</c>: the backup format, each store's format and
/// the commit point of each of its logs, and every file with its length and SHA-256. A restore refuses a backup
/// whose files do not match it, naming the first that does not.
/// </summary>
public sealed class BackupManifest
{
    public const string FileName = "manifest.json";

    /// <summary>The backup format this relay writes and restores.</summary>
    public const string CurrentFormat = "edgerelay-backup 1";

    /// <summary>Largest manifest a restore reads (a file entry is ~150 bytes: this is ~100,000 attachments and segments).</summary>
    internal const int MaxBytes = 16 << 20;

    public string Format { get; set; } = CurrentFormat;

    public DateTimeOffset CreatedAt { get; set; }

    public List<StoreEntry> Stores { get; set; } = [];

    public List<FileEntry> Files { get; set; } = [];

    /// <summary>The highest committed-until address of the message log (the store whose format is <see cref="StorageFormat.Current"/>); 0 without one.</summary>
    [JsonIgnore]
    public long CommitPoint => Stores.Where(s => s.Format == StorageFormat.Current).SelectMany(s => s.Logs).Select(l => l.CommittedUntil).DefaultIfEmpty(0).Max();

    /// <summary>Total bytes of the files.</summary>
    [JsonIgnore]
    public long TotalBytes => Files.Sum(f => f.Length);

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, BackupManifestJson.Default.BackupManifest);

    /// <exception cref="InvalidDataException">Not a manifest of this format.</exception>
    public static BackupManifest Parse(ReadOnlySpan<byte> json)
    {
        BackupManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, BackupManifestJson.Default.BackupManifest);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The backup's {FileName} is damaged: {ex.Message}", ex);
        }

        if (manifest is null || manifest.Format != CurrentFormat)
        {
            throw new InvalidDataException($"The backup's {FileName} names the format '{manifest?.Format}'; this relay restores '{CurrentFormat}' only.");
        }

        foreach (var store in manifest.Stores)
        {
            if (store.Format != StorageFormat.Current && store.Format != FasterOutboundQueue.Format)
            {
                throw new InvalidDataException($"The backup holds a store in the format '{store.Format}', which this relay does not read. Restore it with the relay version that wrote it.");
            }

            foreach (var log in store.Logs)
            {
                BackupPaths.Check(log.Directory);
            }
        }

        foreach (var file in manifest.Files)
        {
            BackupPaths.Check(file.Path);
        }

        return manifest;
    }

    public sealed class StoreEntry
    {
        public string Format { get; set; } = "";

        public List<LogEntry> Logs { get; set; } = [];
    }

    public sealed class LogEntry
    {
        public string Directory { get; set; } = "";

        public long BeginAddress { get; set; }

        public long CommittedUntil { get; set; }
    }

    public sealed class FileEntry
    {
        public string Path { get; set; } = "";

        public long Length { get; set; }

        /// <summary>Lower-case hex.</summary>
        public string Sha256 { get; set; } = "";
    }
}

[JsonSerializable(typeof(BackupManifest))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class BackupManifestJson : JsonSerializerContext;
