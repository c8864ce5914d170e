namespace EdgeRelay.Addressing.Tests;

public class HpkePskTests
{
    private static readonly byte[] Info = "test info"u8.ToArray();
    private static readonly byte[] Aad = "test aad"u8.ToArray();
    private static readonly byte[] Plaintext = "a message of some length"u8.ToArray();
    private static readonly byte[] Psk = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] PskId = "psk id"u8.ToArray();
    private static readonly byte[] Context = "context"u8.ToArray();

    private readonly byte[] _sk = new byte[32];
    private readonly byte[] _pk = new byte[32];
    private readonly byte[] _enc = new byte[32];
    private readonly byte[] _ct = new byte[Plaintext.Length + Hpke.TagLength];
    private readonly byte[] _sent = new byte[64];

    public HpkePskTests()
    {
        Hpke.DeriveKeyPair(Guid.NewGuid().ToByteArray(), _sk, _pk);
        Assert.True(Hpke.SealPsk(_pk, Info, Aad, Psk, PskId, Plaintext, _enc, _ct, Context, _sent));
    }

    [Fact]
    public void Both_sides_export_the_same_secret_and_the_plaintext_round_trips()
    {
        var pt = new byte[Plaintext.Length];
        var received = new byte[64];
        Assert.True(Hpke.OpenPsk(_sk, _pk, _enc, Info, Aad, Psk, PskId, _ct, pt, Context, received));
        Assert.Equal(Plaintext, pt);
        Assert.Equal(_sent, received);
        Assert.NotEqual(new byte[64], received);
    }

    [Fact]
    public void Another_context_exports_another_secret()
    {
        var pt = new byte[Plaintext.Length];
        var received = new byte[64];
        Assert.True(Hpke.OpenPsk(_sk, _pk, _enc, Info, Aad, Psk, PskId, _ct, pt, "other"u8, received));
        Assert.NotEqual(_sent, received);
    }

    [Fact]
    public void A_wrong_psk_or_psk_id_does_not_open_and_zeroes_the_outputs()
    {
        var otherPsk = (byte[])Psk.Clone();
        otherPsk[31] ^= 1;
        var pt = new byte[Plaintext.Length];
        var received = new byte[64];
        Assert.False(Hpke.OpenPsk(_sk, _pk, _enc, Info, Aad, otherPsk, PskId, _ct, pt, Context, received));
        Assert.Equal(new byte[64], received);
        Assert.Equal(new byte[Plaintext.Length], pt);
        Assert.False(Hpke.OpenPsk(_sk, _pk, _enc, Info, Aad, Psk, "other id"u8, _ct, pt, Context, received));
    }

    [Fact]
    public void A_base_mode_open_of_a_psk_ciphertext_fails()
    {
        var pt = new byte[Plaintext.Length];
        Assert.False(Hpke.Open(_sk, _pk, _enc, Info, Aad, _ct, pt));
    }

    [Fact]
    public void A_short_psk_or_a_missing_psk_id_is_a_caller_error()
    {
        var enc = new byte[32];
        var ct = new byte[Plaintext.Length + Hpke.TagLength];
        Assert.Throws<ArgumentException>(() => Hpke.SealPsk(_pk, Info, Aad, Psk.AsSpan(0, 31), PskId, Plaintext, enc, ct));
        Assert.Throws<ArgumentException>(() => Hpke.SealPsk(_pk, Info, Aad, Psk, [], Plaintext, enc, ct));
        Assert.Throws<ArgumentException>(() => Hpke.SealPsk(_pk, Info, Aad, Psk, PskId, Plaintext, enc, ct, new byte[Hpke.MaxExporterContextLength + 1], new byte[32]));
    }

    [Fact]
    public void Low_order_keys_are_unusable()
    {
        Assert.False(Hpke.IsUsablePublicKey(new byte[32]));
        Assert.True(Hpke.IsUsablePublicKey(_pk));
        var enc = new byte[32];
        var ct = new byte[Plaintext.Length + Hpke.TagLength];
        Assert.False(Hpke.SealPsk(new byte[32], Info, Aad, Psk, PskId, Plaintext, enc, ct));
    }
}
