using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>
/// Seals what the relationship manager writes to its database (ratchet keys, invitation secrets) with the state
/// key from the key store: XChaCha20-Poly1305, a random 24-byte nonce before the ciphertext (docs/RM-PROTOCOL.md §7.2).
/// </summary>
/// <remarks>
/// The caller's associated data names where the blob belongs (table, row, column): a blob copied to another row
/// or column does not open there. Internal because the plaintexts it returns may be private keys, which no public
/// API hands out.
/// </remarks>
internal sealed class StateSealer : IDisposable
{
    public const int KeyLength = 32;

    public const int NonceLength = 24;

    public const int TagLength = 16;

    /// <summary>A sealed blob is the plaintext's length plus this.</summary>
    public const int Overhead = NonceLength + TagLength;

    private readonly Key _key;

    internal StateSealer(ReadOnlySpan<byte> stateKey)
    {
        if (stateKey.Length != KeyLength)
        {
            throw new ArgumentException("The state key is 32 bytes.", nameof(stateKey));
        }

        _key = Key.Import(AeadAlgorithm.XChaCha20Poly1305, stateKey, KeyBlobFormat.RawSymmetricKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
    }

    /// <summary>nonce (24, random) || ciphertext || tag (16).</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var sealedData = new byte[Overhead + plaintext.Length];
        var nonce = sealedData.AsSpan(0, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        AeadAlgorithm.XChaCha20Poly1305.Encrypt(_key, nonce, associatedData, plaintext, sealedData.AsSpan(NonceLength));
        return sealedData;
    }

    /// <summary>False when the blob was altered, truncated, or sealed with other associated data or another state key.</summary>
    public bool TryOpen(ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> associatedData, [NotNullWhen(true)] out byte[]? plaintext)
    {
        plaintext = null;
        if (sealedData.Length < Overhead)
        {
            return false;
        }

        var opened = new byte[sealedData.Length - Overhead];
        if (!AeadAlgorithm.XChaCha20Poly1305.Decrypt(_key, sealedData[..NonceLength], associatedData, sealedData[NonceLength..], opened))
        {
            return false;
        }

        plaintext = opened;
        return true;
    }

    /// <exception cref="KeyStoreException"><see cref="KeyStoreError.SealedDataRejected"/>.</exception>
    public byte[] Open(ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> associatedData) =>
        TryOpen(sealedData, associatedData, out var plaintext)
            ? plaintext
            : throw new KeyStoreException(KeyStoreError.SealedDataRejected, "A sealed value did not open: altered, truncated, or sealed for another place.");

    public void Dispose() => _key.Dispose();
}
