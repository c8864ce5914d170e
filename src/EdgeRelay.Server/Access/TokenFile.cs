using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRelay.Server.Access;

/// <summary>
/// The token file's format (<c>{"version":1,"tokens":[…]}</c>) and its safe update: read, change, write a
/// temporary file readable by the owner only, flush it, rename it over the old one. A crash leaves the old
/// file or the new one, never half of either; a lock file keeps two <c>edgerelay tokens</c> from losing
/// each other's change.
/// </summary>
internal static class TokenFile
{
    public const int Version = 1;

    public static Document Read(string path)
    {
        if (!File.Exists(path))
        {
            return new Document();
        }

        Document? document;
        try
        {
            document = JsonSerializer.Deserialize(File.ReadAllBytes(path), TokenFileJson.Default.Document);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a token file: {ex.Message}", ex);
        }

        if (document is null || document.Version != Version)
        {
            throw new InvalidDataException($"{path} is not a version {Version} token file.");
        }

        foreach (var record in document.Tokens)
        {
            if (string.IsNullOrEmpty(record.Id) || record.Role is not ("rm" or "peer") || !IsHash(record.Hash))
            {
                throw new InvalidDataException($"{path}: token '{record.Id}' is incomplete (id, role rm|peer and a SHA-256 hash are required).");
            }
        }

        return document;
    }

    public static void Update(string path, Action<Document> change)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        using var lockFile = AcquireLock(path + ".lock");
        var document = Read(path);
        change(document);
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Hashes only, but nobody else needs to read them: owner read and write.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        File.Delete(temporary); // a leftover of a crashed writer would keep its old permissions
        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, document, TokenFileJson.Default.Document);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static bool IsHash(string? value)
    {
        Span<byte> bytes = stackalloc byte[33];
        return value is not null && Convert.TryFromBase64String(value, bytes, out var written) && written == 32;
    }

    private static FileStream AcquireLock(string path)
    {
        // Another writer holds it for a few milliseconds at most; wait for it rather than fail.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (attempt < 200)
            {
                Thread.Sleep(10);
            }
        }
    }

    internal sealed class Document
    {
        [JsonPropertyName("version")]
        public int Version { get; set; } = TokenFile.Version;

        [JsonPropertyName("tokens")]
        public List<Record> Tokens { get; set; } = [];
    }

    internal sealed class Record
    {
        [JsonPropertyName("id")]
        public string Id { get; set; } = "";

        [JsonPropertyName("name")]
        public string Name { get; set; } = "";

        [JsonPropertyName("role")]
        public string Role { get; set; } = "rm";

        /// <summary>Base64 of the SHA-256 of the whole token.</summary>
        [JsonPropertyName("sha256")]
        public string Hash { get; set; } = "";

        [JsonPropertyName("createdAt")]
        public long CreatedAt { get; set; }

        [JsonPropertyName("revokedAt")]
        public long RevokedAt { get; set; }

        [JsonPropertyName("limits")]
        public TokenLimits? Limits { get; set; }
    }
}

[JsonSerializable(typeof(TokenFile.Document))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class TokenFileJson : JsonSerializerContext;
