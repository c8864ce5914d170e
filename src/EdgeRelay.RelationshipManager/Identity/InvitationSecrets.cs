using System.Security.Cryptography;
using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>
/// The inviter's side of an invitation: IP's private key and the secret, what opens the introduction (§5.2). Kept
/// by the relationship manager sealed with the state key (<see cref="Seal"/>) until the introduction arrives or the
/// invitation expires; disposing it zeroes them.
/// </summary>
public sealed class InvitationSecrets : IDisposable
{
    /// <summary>IP's private key (32) then the secret (32).</summary>
    internal const int Length = 64;

    // Pinned so the GC never leaves a copy behind; zeroed on dispose.
    private readonly byte[] _secrets = GC.AllocateArray<byte>(Length, pinned: true);
    private bool _disposed;

    internal InvitationSecrets(Invitation invitation, ReadOnlySpan<byte> invitationPrivateKey, ReadOnlySpan<byte> secret)
    {
        Invitation = invitation;
        invitationPrivateKey.CopyTo(_secrets);
        secret.CopyTo(_secrets.AsSpan(32));
    }

    public Invitation Invitation { get; }

    /// <summary>IP's X25519 private key: what the introduction is opened with, and the inviter's ratchet key 0.</summary>
    internal ReadOnlySpan<byte> InvitationPrivateKey
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _secrets.AsSpan(0, 32);
        }
    }

    internal ReadOnlySpan<byte> Secret
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _secrets.AsSpan(32);
        }
    }

    /// <summary>
    /// IP's private key, the secret and the invitation's binary form, sealed with the state key under
    /// <paramref name="associatedData"/> (the row it is stored in).
    /// </summary>
    internal byte[] Seal(StateSealer sealer, ReadOnlySpan<byte> associatedData)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var invitation = Invitation.ToArray();
        var plaintext = GC.AllocateArray<byte>(Length + invitation.Length, pinned: true);
        try
        {
            _secrets.CopyTo(plaintext, 0);
            invitation.CopyTo(plaintext, Length);
            return sealer.Seal(plaintext, associatedData);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// Reopens what <see cref="Seal"/> stored. The invitation is checked as when read (its signature included) but
    /// not its expiry: an expired invitation's secrets are still needed to recognise a late introduction.
    /// </summary>
    /// <exception cref="KeyStoreException">SealedDataRejected: altered, or sealed for another row.</exception>
    /// <exception cref="InvitationException">SecretsMismatch, or a refusal of the stored invitation.</exception>
    internal static InvitationSecrets Unseal(StateSealer sealer, ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> associatedData)
    {
        var plaintext = sealer.Open(sealedData, associatedData);
        try
        {
            if (plaintext.Length <= Length)
            {
                throw new InvitationException(InvitationError.Malformed, "The sealed invitation secrets hold no invitation.");
            }

            var invitation = Invitation.DecodeIgnoringExpiry(plaintext.AsSpan(Length));
            var privateKey = plaintext.AsSpan(0, 32);
            var secret = plaintext.AsSpan(32, 32);
            using (var key = Key.Import(KeyAgreementAlgorithm.X25519, privateKey, KeyBlobFormat.RawPrivateKey))
            {
                // Sealing under the row's associated data makes a mix-up unlikely; this makes it impossible.
                if (!key.PublicKey.Export(KeyBlobFormat.RawPublicKey).AsSpan().SequenceEqual(invitation.InvitationKey)
                    || !CryptographicOperations.FixedTimeEquals(secret, invitation.Secret))
                {
                    throw new InvitationException(InvitationError.SecretsMismatch, "The sealed key or secret is not the stored invitation's.");
                }
            }

            return new InvitationSecrets(invitation, privateKey, secret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CryptographicOperations.ZeroMemory(_secrets);
    }
}
