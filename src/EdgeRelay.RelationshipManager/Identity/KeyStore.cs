using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>
/// The identity's private keys and the state key, sealed in one file with a passphrase (docs/RM-PROTOCOL.md §7):
/// Argon2id turns the passphrase into a key, XChaCha20-Poly1305 seals the secrets under it, and the header that
/// records the format and the Argon2id parameters is the AEAD's associated data, so none of it can be altered.
/// </summary>
/// <remarks>
/// XChaCha20-Poly1305 rather than ChaCha20-Poly1305: its 24-byte nonce can be drawn at random on every write
/// with no counter to keep and no risk of reuse. (Every write also draws a fresh salt, hence a fresh key, so a
/// repeated nonce would need a repeated salt too; the long nonce makes that argument unnecessary.) It is also
/// the AEAD of <see cref="StateSealer"/>: one primitive to review.
/// </remarks>
public sealed class KeyStore : IDisposable
{
    /// <summary>The file's name in the relationship manager's home directory.</summary>
    public const string DefaultFileName = "keys.sealed";

    /// <summary>Bounds the stack buffer the passphrase is encoded into; far beyond any typed passphrase.</summary>
    public const int MaxPassphraseLength = 1024;

    private const int SeedOffset = 0;
    private const int AgreementOffset = 32;
    private const int StateKeyOffset = 64;
    private const int SecretLength = 32;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // The passphrase-derived key and the current file: together they reopen the secrets for a passphrase change,
    // so the identity's keys never need to be exportable.
    private Key _fileKey;
    private byte[] _file;
    private bool _disposed;

    private KeyStore(string path, byte[] file, Key fileKey, KeyStoreOptions options, ReadOnlySpan<byte> secrets)
    {
        Path = path;
        _file = file;
        _fileKey = fileKey;
        Options = options;
        Identity = IdentityKeyPair.FromPrivateKeys(secrets.Slice(SeedOffset, SecretLength), secrets.Slice(AgreementOffset, SecretLength));
        StateSealer = new StateSealer(secrets.Slice(StateKeyOffset, SecretLength));
    }

    public string Path { get; }

    /// <summary>The identity; owned by this store and destroyed when it is disposed.</summary>
    public IdentityKeyPair Identity { get; }

    /// <summary>The Argon2id cost the file is sealed with now.</summary>
    public KeyStoreOptions Options { get; private set; }

    /// <summary>Seals what the relationship manager persists; internal because what it opens may hold private keys.</summary>
    internal StateSealer StateSealer { get; }

    /// <summary>Runs between writing the new file and renaming it over the old one: where tests simulate a crash.</summary>
    internal Action? BeforeReplace { get; set; }

    /// <summary>
    /// Creates a new identity and state key and seals them at <paramref name="path"/>. Never overwrites a file.
    /// Takes as long as one Argon2id run (see <see cref="KeyStoreOptions"/>).
    /// </summary>
    /// <exception cref="KeyStoreException">AlreadyExists, ParametersOutOfRange or PassphraseUnusable.</exception>
    public static KeyStore Create(string path, ReadOnlySpan<char> passphrase, KeyStoreOptions? options = null)
    {
        Span<byte> secrets = stackalloc byte[KeyStoreFile.SecretsLength];
        try
        {
            RandomNumberGenerator.Fill(secrets);
            return Create(path, passphrase, options ?? KeyStoreOptions.Default, secrets);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secrets);
        }
    }

    /// <summary>Creates a store holding the given secrets (IKs seed, IKa private key, state key): tests and vectors.</summary>
    internal static KeyStore Create(string path, ReadOnlySpan<char> passphrase, KeyStoreOptions options, ReadOnlySpan<byte> secrets)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        CheckPassphrase(passphrase);
        if (File.Exists(path))
        {
            // Checked before Argon2 runs so the refusal is immediate; the rename without overwrite closes the race.
            throw new KeyStoreException(KeyStoreError.AlreadyExists, $"A file already exists at '{path}'; a key store is never overwritten.");
        }

        var file = Seal(passphrase, options, secrets, RandomNumberGenerator.GetBytes(KeyStoreFile.SaltLength), RandomNumberGenerator.GetBytes(KeyStoreFile.NonceLength), out var key);
        try
        {
            KeyStoreFile.WriteAtomically(path, file, replace: false);
            return new KeyStore(path, file, key, options, secrets);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Opens the store at <paramref name="path"/>. Takes as long as one Argon2id run at the file's parameters.</summary>
    /// <exception cref="KeyStoreException">
    /// NotFound, Corrupt, UnsupportedVersion, ParametersOutOfRange, PassphraseUnusable or WrongPassphrase.
    /// </exception>
    public static KeyStore Open(string path, ReadOnlySpan<char> passphrase)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckPassphrase(passphrase);
        var file = KeyStoreFile.Read(path);
        var options = KeyStoreFile.ReadHeader(file);
        var key = DeriveKey(passphrase, options, KeyStoreFile.Salt(file));
        Span<byte> secrets = stackalloc byte[KeyStoreFile.SecretsLength];
        try
        {
            if (!Unseal(key, file, secrets))
            {
                throw new KeyStoreException(KeyStoreError.WrongPassphrase, "The passphrase does not open this key store.");
            }

            return new KeyStore(path, file, key, options, secrets);
        }
        catch
        {
            key.Dispose();
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secrets);
        }
    }

    /// <summary>
    /// Reseals the same secrets under <paramref name="newPassphrase"/> (with a fresh salt and nonce, and
    /// <paramref name="options"/> if given, else the current cost). The file is replaced atomically: a crash
    /// leaves the old file, which the old passphrase still opens, or the new one.
    /// </summary>
    /// <exception cref="KeyStoreException">ParametersOutOfRange or PassphraseUnusable.</exception>
    public void ChangePassphrase(ReadOnlySpan<char> newPassphrase, KeyStoreOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        options ??= Options;
        options.Validate();
        CheckPassphrase(newPassphrase);
        Span<byte> secrets = stackalloc byte[KeyStoreFile.SecretsLength];
        try
        {
            RevealSecrets(secrets);
            var file = Seal(newPassphrase, options, secrets, RandomNumberGenerator.GetBytes(KeyStoreFile.SaltLength), RandomNumberGenerator.GetBytes(KeyStoreFile.NonceLength), out var key);
            try
            {
                KeyStoreFile.WriteAtomically(Path, file, replace: true, BeforeReplace);
            }
            catch
            {
                key.Dispose();
                throw;
            }

            // Only once the new file is in place: a failed write leaves this object as consistent as the disk.
            _fileKey.Dispose();
            _fileKey = key;
            _file = file;
            Options = options;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secrets);
        }
    }

    /// <summary>The sealed secrets in plaintext (IKs seed, IKa private key, state key): for the passphrase change and tests only.</summary>
    internal void RevealSecrets(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!Unseal(_fileKey, _file, destination))
        {
            // The key and the bytes were checked together when this store was opened; only memory corruption gets here.
            throw new KeyStoreException(KeyStoreError.Corrupt, "The key store's sealed secrets no longer open.");
        }
    }

    /// <summary>The whole file for these inputs; <paramref name="key"/> is the passphrase-derived key, owned by the caller.</summary>
    internal static byte[] Seal(ReadOnlySpan<char> passphrase, KeyStoreOptions options, ReadOnlySpan<byte> secrets, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> nonce, out Key key)
    {
        if (secrets.Length != KeyStoreFile.SecretsLength)
        {
            throw new ArgumentException("The sealed secrets are three 32-byte keys.", nameof(secrets));
        }

        var file = new byte[KeyStoreFile.FileLength];
        KeyStoreFile.WriteHeader(file, options.MemoryKiB, options.Iterations, salt, nonce);
        key = DeriveKey(passphrase, options, salt);
        AeadAlgorithm.XChaCha20Poly1305.Encrypt(key, nonce, file.AsSpan(0, KeyStoreFile.HeaderLength), secrets, file.AsSpan(KeyStoreFile.HeaderLength));
        return file;
    }

    private static bool Unseal(Key key, ReadOnlySpan<byte> file, Span<byte> secrets) =>
        AeadAlgorithm.XChaCha20Poly1305.Decrypt(
            key,
            KeyStoreFile.Nonce(file),
            file[..KeyStoreFile.HeaderLength],
            file[KeyStoreFile.HeaderLength..],
            secrets);

    private static void CheckPassphrase(ReadOnlySpan<char> passphrase)
    {
        if (passphrase.IsEmpty || passphrase.Length > MaxPassphraseLength)
        {
            throw new KeyStoreException(KeyStoreError.PassphraseUnusable, $"A passphrase is 1 to {MaxPassphraseLength} characters.");
        }
    }

    // The passphrase is hashed as its UTF-8 bytes, unnormalised: the same characters always give the same key,
    // and the bytes live on the stack only, zeroed before returning. The derived key goes straight into NSec's
    // guarded memory, never exportable.
    private static Key DeriveKey(ReadOnlySpan<char> passphrase, KeyStoreOptions options, ReadOnlySpan<byte> salt)
    {
        CheckPassphrase(passphrase);
        Span<byte> utf8 = stackalloc byte[MaxPassphraseLength * 3];
        try
        {
            int length;
            try
            {
                length = StrictUtf8.GetBytes(passphrase, utf8);
            }
            catch (EncoderFallbackException e)
            {
                throw new KeyStoreException(KeyStoreError.PassphraseUnusable, "The passphrase is not valid Unicode (a lone surrogate).", e);
            }

            var argon2 = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters
            {
                DegreeOfParallelism = KeyStoreFile.Parallelism,
                MemorySize = options.MemoryKiB,
                NumberOfPasses = options.Iterations,
            });
            return argon2.DeriveKey(utf8[..length], salt, AeadAlgorithm.XChaCha20Poly1305, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(utf8);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Identity.Dispose();
        StateSealer.Dispose();
        _fileKey.Dispose();
    }
}
