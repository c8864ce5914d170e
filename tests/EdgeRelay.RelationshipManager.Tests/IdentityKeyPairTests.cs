using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests;

public sealed class IdentityKeyPairTests
{
    // RFC 8032 §7.1 test 1 and RFC 7748 §6.1 (Alice): fixed keys whose public halves and signature are published.
    private static readonly byte[] Rfc8032Seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    private static readonly byte[] Rfc8032Public = Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    private static readonly byte[] Rfc8032EmptySignature = Convert.FromHexString(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    private static readonly byte[] Rfc7748Private = Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    private static readonly byte[] Rfc7748Public = Convert.FromHexString("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");

    [Fact]
    public void Fixed_private_keys_give_the_published_public_keys_and_signature()
    {
        using var identity = IdentityKeyPair.FromPrivateKeys(Rfc8032Seed, Rfc7748Private);
        var signature = new byte[IdentityKeyPair.SignatureLength];

        identity.Sign([], signature);

        Assert.Equal(Rfc8032Public, identity.Public.SigningKey.ToArray());
        Assert.Equal(Rfc7748Public, identity.Public.AgreementKey.ToArray());
        Assert.Equal(Rfc8032EmptySignature, signature);
    }

    [Fact]
    public void Generated_identities_differ_and_verify_their_own_signatures()
    {
        using var one = IdentityKeyPair.Generate();
        using var other = IdentityKeyPair.Generate();
        var data = "hello"u8.ToArray();
        var signature = new byte[IdentityKeyPair.SignatureLength];

        one.Sign(data, signature);

        Assert.NotEqual(one.Public, other.Public);
        Assert.True(IdentityKeyPair.Verify(one.Public.SigningKey, data, signature));
        Assert.False(IdentityKeyPair.Verify(other.Public.SigningKey, data, signature));
    }

    [Fact]
    public void Any_altered_byte_of_data_or_signature_fails_verification()
    {
        using var identity = IdentityKeyPair.Generate();
        var data = "a command"u8.ToArray();
        var signature = new byte[IdentityKeyPair.SignatureLength];
        identity.Sign(data, signature);

        for (int i = 0; i < data.Length; i++)
        {
            var altered = (byte[])data.Clone();
            altered[i] ^= 0x01;
            Assert.False(IdentityKeyPair.Verify(identity.Public.SigningKey, altered, signature));
        }

        for (int i = 0; i < signature.Length; i++)
        {
            var altered = (byte[])signature.Clone();
            altered[i] ^= 0x80;
            Assert.False(IdentityKeyPair.Verify(identity.Public.SigningKey, data, altered));
        }
    }

    [Fact]
    public void Keys_and_signatures_of_the_wrong_length_are_refused_without_throwing()
    {
        using var identity = IdentityKeyPair.Generate();
        var signature = new byte[IdentityKeyPair.SignatureLength];
        identity.Sign("x"u8, signature);

        Assert.False(IdentityKeyPair.Verify(identity.Public.SigningKey[..31], "x"u8, signature));
        Assert.False(IdentityKeyPair.Verify(identity.Public.SigningKey, "x"u8, signature.AsSpan(0, 63)));
        Assert.False(IdentityKeyPair.Verify(new byte[32], "x"u8, signature));
    }

    [Fact]
    public void A_disposed_identity_signs_nothing()
    {
        var identity = IdentityKeyPair.Generate();
        identity.Dispose();
        identity.Dispose();

        Assert.Throws<ObjectDisposedException>(() => identity.Sign("x"u8, new byte[IdentityKeyPair.SignatureLength]));
    }

    [Fact]
    public void Wrong_private_key_lengths_are_refused() =>
        Assert.Throws<ArgumentException>(() => IdentityKeyPair.FromPrivateKeys(Rfc8032Seed.AsSpan(0, 31), Rfc7748Private));
}
