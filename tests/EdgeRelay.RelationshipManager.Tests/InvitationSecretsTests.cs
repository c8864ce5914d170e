using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests;

public sealed class InvitationSecretsTests : IDisposable
{
    private static readonly DateTimeOffset Expiry = new(2026, 1, 8, 0, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Row = "invitations/7"u8.ToArray();

    private readonly IdentityKeyPair _inviter = IdentityKeyPair.Generate();
    private readonly StateSealer _sealer = new(new byte[32]);

    public void Dispose()
    {
        _inviter.Dispose();
        _sealer.Dispose();
    }

    [Fact]
    public void Sealed_secrets_reopen_with_their_invitation_even_once_it_has_expired()
    {
        var invitation = Invitation.Create(_inviter, "Alice", InvitationTests.TypicalCard(), Expiry, out var secrets);
        using var _ = secrets;

        var sealedData = secrets.Seal(_sealer, Row);
        using var reopened = InvitationSecrets.Unseal(_sealer, sealedData, Row);

        Assert.Equal(secrets.InvitationPrivateKey.ToArray(), reopened.InvitationPrivateKey.ToArray());
        Assert.Equal(secrets.Secret.ToArray(), reopened.Secret.ToArray());
        Assert.Equal(invitation.ToArray(), reopened.Invitation.ToArray());
        Assert.True(reopened.Invitation.IsExpiredAt(Expiry));
        Assert.Equal(-1, sealedData.AsSpan().IndexOf(secrets.InvitationPrivateKey));
    }

    [Fact]
    public void Secrets_sealed_for_another_row_or_altered_do_not_open()
    {
        Invitation.Create(_inviter, "Alice", InvitationTests.TypicalCard(), Expiry, out var secrets);
        using var _ = secrets;
        var sealedData = secrets.Seal(_sealer, Row);
        sealedData[^1] ^= 1;

        Assert.Equal(KeyStoreError.SealedDataRejected, Assert.Throws<KeyStoreException>(() => InvitationSecrets.Unseal(_sealer, secrets.Seal(_sealer, Row), "invitations/8"u8)).Error);
        Assert.Equal(KeyStoreError.SealedDataRejected, Assert.Throws<KeyStoreException>(() => InvitationSecrets.Unseal(_sealer, sealedData, Row)).Error);
    }

    [Fact]
    public void A_key_or_secret_that_is_not_the_invitations_is_refused()
    {
        var invitation = Invitation.Create(_inviter, "Alice", InvitationTests.TypicalCard(), Expiry, out var secrets);
        using var _ = secrets;
        var wrongKey = new byte[32];
        wrongKey[0] = 1;

        // What Seal would write had the row held another invitation's key, or another secret.
        var otherKey = _sealer.Seal([.. wrongKey, .. secrets.Secret, .. invitation.ToArray()], Row);
        var otherSecret = _sealer.Seal([.. secrets.InvitationPrivateKey, .. new byte[32], .. invitation.ToArray()], Row);

        Assert.Equal(InvitationError.SecretsMismatch, InvitationTests.Refusal(() => InvitationSecrets.Unseal(_sealer, otherKey, Row)));
        Assert.Equal(InvitationError.SecretsMismatch, InvitationTests.Refusal(() => InvitationSecrets.Unseal(_sealer, otherSecret, Row)));
        Assert.Equal(InvitationError.Malformed, InvitationTests.Refusal(() => InvitationSecrets.Unseal(_sealer, _sealer.Seal(new byte[64], Row), Row)));
    }

    [Fact]
    public void Disposed_secrets_are_unusable()
    {
        Invitation.Create(_inviter, "Alice", InvitationTests.TypicalCard(), Expiry, out var secrets);

        secrets.Dispose();

        Assert.Throws<ObjectDisposedException>(() => secrets.InvitationPrivateKey.ToArray());
        Assert.Throws<ObjectDisposedException>(() => secrets.Seal(_sealer, Row));
    }
}
