using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Access;

/// <summary>The outcome of presenting a token.</summary>
public enum TokenCheck
{
    Valid,

    /// <summary>Not a token this relay issued (or not a token at all): TOKEN_UNKNOWN.</summary>
    Unknown,

    /// <summary>Issued, then revoked: TOKEN_REVOKED.</summary>
    Revoked,
}

/// <summary>A token just created: the only moment its secret exists outside its holder's hands.</summary>
public sealed record IssuedToken(AccessToken Token, string Secret);

/// <summary>
/// The operator's access tokens, kept in one JSON file (<see cref="TokenFile"/>) that <c>edgerelay tokens</c>
/// writes and the running relay reads. Only a SHA-256 of each token is stored: a token is 256 random bits,
/// so a fast hash cannot be searched, and a copy of the file grants nothing.
/// </summary>
/// <remarks>
/// The relay watches the file and reloads it when it changes (the CLI runs as a separate process), and also
/// before refusing an unknown token (a watcher can miss an event): a token created a moment ago works at
/// once, and a revocation reaches every live connection holding the token on its next request.
/// </remarks>
public sealed class TokenStore : IDisposable
{
    /// <summary>Every token starts with this, so that it is recognisable in a leaked log or a secret scanner.</summary>
    public const string Prefix = "ert_";

    private const int IdBytes = 8;
    private const int SecretBytes = 32;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TokenLimits _defaults;
    private readonly TimeProvider _time;
    private readonly ILogger? _logger;
    private readonly Lock _reloadLock = new();
    private FileSystemWatcher? _watcher;
    private DateTime _loadedStamp;

    private TokenStore(string path, TokenLimits defaults, TimeProvider time, ILogger? logger)
    {
        Path = path;
        _defaults = defaults;
        _time = time;
        _logger = logger;
    }

    /// <summary>The token file.</summary>
    public string Path { get; }

    /// <summary>How many tokens are valid now.</summary>
    public int ValidCount => _entries.Values.Count(e => !e.Token.IsRevoked);

    /// <summary>Opens (without creating) the token file; <paramref name="watch"/> reloads it whenever it changes on disk.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a token file.</exception>
    public static TokenStore Open(string path, TokenLimits defaults, TimeProvider time, ILogger? logger = null, bool watch = false)
    {
        var store = new TokenStore(System.IO.Path.GetFullPath(path), defaults, time, logger);
        store.Reload();
        if (watch)
        {
            store.StartWatching();
        }

        return store;
    }

    /// <summary>Every token, valid and revoked, oldest first.</summary>
    public IReadOnlyList<AccessToken> List() =>
        [.. _entries.Values.Select(e => e.Token).OrderBy(t => t.CreatedAt).ThenBy(t => t.Id, StringComparer.Ordinal)];

    /// <summary>The token with public id <paramref name="id"/>, valid or revoked; null when there is none.</summary>
    public AccessToken? FindById(string id) => _entries.TryGetValue(id, out var entry) ? entry.Token : null;

    /// <summary>Looks a presented token up; <paramref name="token"/> is set for <see cref="TokenCheck.Valid"/> and <see cref="TokenCheck.Revoked"/>.</summary>
    public TokenCheck Authenticate(ReadOnlySpan<byte> presented, out AccessToken? token)
    {
        var check = Find(presented, out token);
        if (check == TokenCheck.Unknown && ReloadIfChanged())
        {
            check = Find(presented, out token);
        }

        return check;
    }

    /// <summary>Creates a token, records its hash in the file, and returns it: the secret is not kept anywhere.</summary>
    public IssuedToken Create(string name, TokenRole role, TokenLimits? limits = null)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || name.Any(char.IsControl))
        {
            throw new ArgumentException("A token name is 1 to 64 printable characters.", nameof(name));
        }

        if (!Enum.IsDefined(role))
        {
            throw new ArgumentOutOfRangeException(nameof(role), role, "Not a token role.");
        }

        limits ??= new TokenLimits();
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdBytes));
        var secret = Prefix + id + "_" + Base64Url(RandomNumberGenerator.GetBytes(SecretBytes));
        var record = new TokenFile.Record
        {
            Id = id,
            Name = name,
            Role = role == TokenRole.Peer ? "peer" : "rm",
            Hash = Convert.ToBase64String(Hash(Encoding.ASCII.GetBytes(secret))),
            CreatedAt = _time.GetUtcNow().ToUnixTimeSeconds(),
            Limits = limits,
        };
        TokenFile.Update(Path, file => file.Tokens.Add(record));
        Reload();
        return new IssuedToken(_entries[id].Token, secret);
    }

    /// <summary>Revokes a token by its id; false when no such token exists. Revoking twice keeps the first time.</summary>
    public bool Revoke(string id)
    {
        var found = false;
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        TokenFile.Update(Path, file =>
        {
            foreach (var record in file.Tokens.Where(r => r.Id == id))
            {
                found = true;
                record.RevokedAt = record.RevokedAt == 0 ? now : record.RevokedAt;
            }
        });
        Reload();
        return found;
    }

    /// <summary>
    /// Reads the file again: new tokens appear, revocations and limit changes apply to the live instances, and
    /// a token whose line was deleted counts as revoked (a live connection must not keep a right the operator
    /// removed). A file that does not parse keeps the tokens as they were and is reported.
    /// </summary>
    public void Reload()
    {
        lock (_reloadLock)
        {
            var stamp = File.Exists(Path) ? File.GetLastWriteTimeUtc(Path) : DateTime.MinValue;
            var file = TokenFile.Read(Path);
            var now = _time.GetUtcNow().ToUnixTimeSeconds();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var record in file.Tokens)
            {
                seen.Add(record.Id);
                var limits = (record.Limits ?? new TokenLimits()).OrDefaults(_defaults);
                var hash = Convert.FromBase64String(record.Hash);
                if (_entries.TryGetValue(record.Id, out var existing))
                {
                    existing.Token.Update(limits, record.RevokedAt);
                }
                else
                {
                    var token = new AccessToken(record.Id, record.Name, record.Role == "peer" ? TokenRole.Peer : TokenRole.Rm, record.CreatedAt, limits);
                    token.Update(limits, record.RevokedAt);
                    _entries[record.Id] = new Entry(token, hash);
                }
            }

            foreach (var entry in _entries.Values.Where(e => !seen.Contains(e.Token.Id)))
            {
                entry.Token.Update(entry.Token.Limits, now);
            }

            _loadedStamp = stamp;
        }
    }

    public void Dispose() => _watcher?.Dispose();

    private TokenCheck Find(ReadOnlySpan<byte> presented, out AccessToken? token)
    {
        token = null;
        // ert_ + 16 hex digits + _ + the secret: the id finds the entry, the hash of the whole token proves it.
        if (presented.Length < Prefix.Length + (IdBytes * 2) + 2
            || !presented.StartsWith("ert_"u8)
            || presented[Prefix.Length + (IdBytes * 2)] != (byte)'_')
        {
            return TokenCheck.Unknown;
        }

        var id = Encoding.ASCII.GetString(presented.Slice(Prefix.Length, IdBytes * 2));
        if (!_entries.TryGetValue(id, out var entry))
        {
            return TokenCheck.Unknown;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(presented, hash);
        if (!CryptographicOperations.FixedTimeEquals(hash, entry.Hash))
        {
            return TokenCheck.Unknown;
        }

        token = entry.Token;
        return token.IsRevoked ? TokenCheck.Revoked : TokenCheck.Valid;
    }

    private bool ReloadIfChanged()
    {
        var stamp = File.Exists(Path) ? File.GetLastWriteTimeUtc(Path) : DateTime.MinValue;
        if (stamp == _loadedStamp)
        {
            return false;
        }

        TryReload();
        return true;
    }

    private void TryReload()
    {
        try
        {
            Reload();
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            if (_logger is not null)
            {
                RelayLog.TokenFileUnreadable(_logger, ex, Path);
            }
        }
    }

    private void StartWatching()
    {
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(directory);
        _watcher = new FileSystemWatcher(directory, System.IO.Path.GetFileName(Path))
        {
            // The CLI replaces the file by a rename, which is a Created or Renamed event here, not a Changed one.
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        FileSystemEventHandler onChange = (_, _) => TryReload();
        _watcher.Changed += onChange;
        _watcher.Created += onChange;
        _watcher.Deleted += onChange;
        _watcher.Renamed += (_, _) => TryReload();
        _watcher.EnableRaisingEvents = true;
    }

    private static byte[] Hash(byte[] token) => SHA256.HashData(token);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed record Entry(AccessToken Token, byte[] Hash);
}
