using System.Globalization;
using System.Security.Cryptography;
using EdgeRelay.Addressing.Interop;

namespace EdgeRelay.Addressing;

/// <summary>
/// The relay's long-lived X25519 key pair: every card carries its public half, and every
/// ephemeral address is sealed to it. Losing it orphans every card ever issued; leaking it links
/// every ephemeral address to its <c>aid</c>.
/// </summary>
/// <remarks>
/// The private key lives in a pinned array so that the GC never leaves a stale copy behind when it
/// compacts, and <see cref="Dispose"/> zeroes it. Disposing while a resolver still uses the key
/// makes every later open fail: dispose at shutdown only.
/// </remarks>
public sealed class ServiceKey : IDisposable
{
    public const string FileName = "service.key";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly byte[] _privateKey;
    private readonly byte[] _publicKey;
    private bool _disposed;

    private ServiceKey(byte[] pinnedPrivateKey)
    {
        _privateKey = pinnedPrivateKey;
        _publicKey = new byte[Hpke.PublicKeyLength];
        if (!Sodium.ScalarMultBase(_publicKey, _privateKey))
        {
            CryptographicOperations.ZeroMemory(_privateKey);
            throw new CryptographicException("The service private key does not give a usable X25519 public key.");
        }
    }

    /// <summary>The 32-byte X25519 public key that goes into address cards.</summary>
    public ReadOnlyMemory<byte> PublicKey => _publicKey;

    /// <summary>The raw private key, for opening ephemeral addresses. Never copy it to the heap.</summary>
    internal ReadOnlySpan<byte> PrivateKey
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _privateKey;
        }
    }

    /// <summary>
    /// Loads <c>service.key</c> (32 raw bytes) from <paramref name="dataDirectory"/>, or creates it
    /// there with fresh libsodium randomness if it does not exist yet.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not exactly 32 bytes.</exception>
    /// <exception cref="UnauthorizedAccessException">On Unix, the file grants any permission to group or others.</exception>
    public static ServiceKey LoadOrCreate(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        if (!Directory.Exists(dataDirectory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(dataDirectory);
            }
            else
            {
                Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        return LoadOrCreateFile(Path.Combine(dataDirectory, FileName));
    }

    /// <summary>
    /// Loads the service key from <paramref name="path"/> (32 raw bytes, owner-only), or creates it there if it does
    /// not exist yet. Several relay nodes serving as one service name the same file (a secret the operator
    /// distributes), so that each opens every ephemeral address the others hand out cards for.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not exactly 32 bytes.</exception>
    /// <exception cref="UnauthorizedAccessException">On Unix, the file grants any permission to group or others.</exception>
    public static ServiceKey LoadOrCreateFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            return Load(path);
        }

        try
        {
            return Create(path);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created the key between our check and our rename: theirs wins.
            return Load(path);
        }
    }

    /// <summary>A key that exists only in memory (tests, benchmarks, embedded use).</summary>
    internal static ServiceKey Generate()
    {
        var key = GC.AllocateArray<byte>(Hpke.PrivateKeyLength, pinned: true);
        Sodium.RandomBytes(key);
        return new ServiceKey(key);
    }

    internal static ServiceKey FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != Hpke.PrivateKeyLength)
        {
            throw new ArgumentException("An X25519 private key is 32 bytes.", nameof(privateKey));
        }

        var key = GC.AllocateArray<byte>(Hpke.PrivateKeyLength, pinned: true);
        privateKey.CopyTo(key);
        return new ServiceKey(key);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            CryptographicOperations.ZeroMemory(_privateKey);
        }
    }

    private static ServiceKey Load(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(handle);
            if ((mode & GroupOrOther) != 0)
            {
                throw new UnauthorizedAccessException(string.Format(CultureInfo.InvariantCulture,
                    "Refusing to use the service key {0}: its mode {1} lets group or others access it. Make it owner-only (chmod 600).",
                    path, Convert.ToString((int)mode, 8)));
            }
        }

        var length = RandomAccess.GetLength(handle);
        if (length != Hpke.PrivateKeyLength)
        {
            throw new InvalidDataException(string.Format(CultureInfo.InvariantCulture,
                "The service key {0} is {1} bytes; a service key file holds exactly {2} raw bytes.",
                path, length, Hpke.PrivateKeyLength));
        }

        // Read straight into the pinned array: no buffered copy of the secret on the heap.
        var key = GC.AllocateArray<byte>(Hpke.PrivateKeyLength, pinned: true);
        var read = 0;
        while (read < key.Length)
        {
            var n = RandomAccess.Read(handle, key.AsSpan(read), read);
            if (n == 0)
            {
                CryptographicOperations.ZeroMemory(key);
                throw new InvalidDataException($"The service key {path} was truncated while being read.");
            }

            read += n;
        }

        return new ServiceKey(key);
    }

    private static ServiceKey Create(string path)
    {
        var key = GC.AllocateArray<byte>(Hpke.PrivateKeyLength, pinned: true);
        Sodium.RandomBytes(key);

        Span<byte> suffix = stackalloc byte[8];
        Sodium.RandomBytes(suffix);
        var temporary = path + "." + Convert.ToHexStringLower(suffix) + ".tmp";
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0, // no managed buffer holding a copy of the key
        };
        if (!OperatingSystem.IsWindows())
        {
            // Passed to open(2): the file is owner-only from the instant it exists.
            options.UnixCreateMode = OwnerOnly;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(key);
                stream.Flush(flushToDisk: true);
            }

            // Without overwrite, a concurrent creator's key is never replaced (the rename fails
            // and LoadOrCreate loads theirs). The directory entry itself is not fsynced (.NET has
            // no portable call for it): a power loss within the file system's commit interval
            // after the very first start could lose the new key. Back the key up once created.
            File.Move(temporary, path, overwrite: false);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(key);
            TryDelete(temporary);
            throw;
        }

        return new ServiceKey(key);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a stray temp file holds a key nobody uses, owner-only.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
