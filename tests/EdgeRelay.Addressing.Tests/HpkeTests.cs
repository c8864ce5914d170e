namespace EdgeRelay.Addressing.Tests;

public class HpkeTests
{
    private static readonly byte[] Info = "test info"u8.ToArray();
    private static readonly byte[] Aad = "test aad"u8.ToArray();
    private static readonly byte[] Plaintext = "a message of some length"u8.ToArray();

    private readonly byte[] _sk = new byte[32];
    private readonly byte[] _pk = new byte[32];
    private readonly byte[] _enc = new byte[32];
    private readonly byte[] _ct = new byte[Plaintext.Length + Hpke.TagLength];

    public HpkeTests()
    {
        Hpke.DeriveKeyPair(Guid.NewGuid().ToByteArray(), _sk, _pk);
        Assert.True(Hpke.Seal(_pk, Info, Aad, Plaintext, _enc, _ct));
    }

    [Fact]
    public void Seal_then_open_round_trips()
    {
        var pt = new byte[Plaintext.Length];
        Assert.True(Hpke.Open(_sk, _enc, Info, Aad, _ct, pt));
        Assert.Equal(Plaintext, pt);
    }

    [Fact]
    public void Empty_plaintext_info_and_aad_round_trip()
    {
        var enc = new byte[32];
        var ct = new byte[Hpke.TagLength];
        Assert.True(Hpke.Seal(_pk, [], [], [], enc, ct));
        Assert.True(Hpke.Open(_sk, enc, [], [], ct, []));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    public void A_flipped_bit_in_enc_fails(int index)
    {
        var enc = (byte[])_enc.Clone();
        enc[index] ^= 0x01;
        Assert.False(Open(enc, _ct, Info, Aad, _sk));
    }

    [Fact]
    public void A_flipped_bit_in_the_ciphertext_body_fails() => AssertFlipFails(0);

    [Fact]
    public void A_flipped_bit_in_the_tag_fails() => AssertFlipFails(Plaintext.Length + 3);

    [Fact]
    public void Wrong_info_fails() => Assert.False(Open(_enc, _ct, "other info"u8.ToArray(), Aad, _sk));

    [Fact]
    public void Wrong_aad_fails() => Assert.False(Open(_enc, _ct, Info, "other aad"u8.ToArray(), _sk));

    [Fact]
    public void Wrong_private_key_fails()
    {
        var otherSk = new byte[32];
        var otherPk = new byte[32];
        Hpke.DeriveKeyPair(Guid.NewGuid().ToByteArray(), otherSk, otherPk);
        Assert.False(Open(_enc, _ct, Info, Aad, otherSk));
    }

    [Fact]
    public void A_mismatched_recipient_public_key_fails_rather_than_opening()
    {
        var pt = new byte[Plaintext.Length];
        var wrongPk = (byte[])_pk.Clone();
        wrongPk[5] ^= 0x40;
        Assert.False(Hpke.Open(_sk, wrongPk, _enc, Info, Aad, _ct, pt));
    }

    [Fact]
    public void A_failed_open_leaves_the_plaintext_buffer_cleared()
    {
        var pt = Enumerable.Repeat((byte)0xAA, Plaintext.Length).ToArray();
        var ct = (byte[])_ct.Clone();
        ct[0] ^= 1;
        Assert.False(Hpke.Open(_sk, _enc, Info, Aad, ct, pt));
        Assert.All(pt, b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_low_order_enc_is_rejected_by_decap()
    {
        // The all-zero point (and the other small-order points) make X25519 output all zeros.
        var sharedSecret = new byte[32];
        Assert.False(Hpke.Decap(new byte[32], _sk, _pk, sharedSecret));
        Assert.False(Open(new byte[32], _ct, Info, Aad, _sk));
        var one = new byte[32];
        one[0] = 1; // u = 1 has order 4
        Assert.False(Hpke.Decap(one, _sk, _pk, sharedSecret));
    }

    [Fact]
    public void Sealing_to_a_low_order_public_key_is_refused()
    {
        var enc = new byte[32];
        var ct = new byte[Plaintext.Length + Hpke.TagLength];
        Assert.False(Hpke.Seal(new byte[32], Info, Aad, Plaintext, enc, ct));
    }

    [Fact]
    public void Short_inputs_fail_without_throwing()
    {
        Assert.False(Hpke.Open(_sk, _enc.AsSpan(0, 31), Info, Aad, _ct, new byte[Plaintext.Length]));
        Assert.False(Hpke.Open(_sk, _enc, Info, Aad, _ct.AsSpan(0, 15), []));
    }

    [Fact]
    public void Two_seals_of_the_same_message_share_nothing()
    {
        var enc = new byte[32];
        var ct = new byte[_ct.Length];
        Assert.True(Hpke.Seal(_pk, Info, Aad, Plaintext, enc, ct));
        Assert.NotEqual(_enc, enc);
        Assert.NotEqual(_ct, ct);
    }

    [Fact]
    public void Open_does_not_allocate()
    {
        var pt = new byte[Plaintext.Length];
        Assert.True(Hpke.Open(_sk, _pk, _enc, Info, Aad, _ct, pt)); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            Hpke.Open(_sk, _pk, _enc, Info, Aad, _ct, pt);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private void AssertFlipFails(int index)
    {
        var ct = (byte[])_ct.Clone();
        ct[index] ^= 0x80;
        Assert.False(Open(_enc, ct, Info, Aad, _sk));
    }

    private static bool Open(byte[] enc, byte[] ct, byte[] info, byte[] aad, byte[] sk) =>
        Hpke.Open(sk, enc, info, aad, ct, new byte[ct.Length - Hpke.TagLength]);
}
