using EdgeRelay.Addressing.Tests.Support;

namespace EdgeRelay.Addressing.Tests;

/// <summary>RFC 9180 Appendix A.2.1 (mode base, DHKEM(X25519), HKDF-SHA256, ChaCha20-Poly1305).</summary>
public class HpkeVectorTests
{
    private readonly Rfc9180Vectors _v = Rfc9180Vectors.Load();

    [Fact]
    public void Vector_file_parses_with_the_expected_suite_and_joined_values()
    {
        Assert.Equal("0", _v.Setup["mode"]);
        Assert.Equal("32", _v.Setup["kem_id"]);
        Assert.Equal("1", _v.Setup["kdf_id"]);
        Assert.Equal("3", _v.Setup["aead_id"]);
        // Wrapped values were joined: the context is mode || two hashes, each ct is pt + tag.
        Assert.Equal(Hpke.KeyScheduleContextLength, _v.SetupBytes("key_schedule_context").Length);
        Assert.Equal(3, _v.Encryptions.Count);
        foreach (var e in _v.Encryptions)
        {
            Assert.Equal(Convert.FromHexString(e["pt"]).Length + Hpke.TagLength, Convert.FromHexString(e["ct"]).Length);
        }
    }

    [Theory]
    [InlineData("ikmE", "skEm", "pkEm")]
    [InlineData("ikmR", "skRm", "pkRm")]
    public void DeriveKeyPair_matches(string ikm, string sk, string pk)
    {
        var privateKey = new byte[32];
        var publicKey = new byte[32];
        Hpke.DeriveKeyPair(_v.SetupBytes(ikm), privateKey, publicKey);
        Assert.Equal(_v.Setup[sk], Hex.Of(privateKey));
        Assert.Equal(_v.Setup[pk], Hex.Of(publicKey));
    }

    [Fact]
    public void Encap_with_the_fixed_ephemeral_key_gives_enc_and_shared_secret()
    {
        var sharedSecret = new byte[32];
        var enc = new byte[32];
        Assert.True(Hpke.Encap(_v.SetupBytes("skEm"), _v.SetupBytes("pkRm"), sharedSecret, enc));
        Assert.Equal(_v.Setup["enc"], Hex.Of(enc));
        Assert.Equal(_v.Setup["shared_secret"], Hex.Of(sharedSecret));
    }

    [Fact]
    public void Decap_gives_the_same_shared_secret()
    {
        var sharedSecret = new byte[32];
        Assert.True(Hpke.Decap(_v.SetupBytes("enc"), _v.SetupBytes("skRm"), _v.SetupBytes("pkRm"), sharedSecret));
        Assert.Equal(_v.Setup["shared_secret"], Hex.Of(sharedSecret));
    }

    [Fact]
    public void Key_schedule_matches_every_intermediate()
    {
        var key = new byte[Hpke.KeyLength];
        var baseNonce = new byte[Hpke.NonceLength];
        var exporterSecret = new byte[Hpke.HashLength];
        var context = new byte[Hpke.KeyScheduleContextLength];
        var secret = new byte[Hpke.HashLength];
        Hpke.KeySchedule(_v.SetupBytes("shared_secret"), _v.SetupBytes("info"), [], [], key, baseNonce, exporterSecret, context, secret);
        Assert.Equal(_v.Setup["key_schedule_context"], Hex.Of(context));
        Assert.Equal(_v.Setup["secret"], Hex.Of(secret));
        Assert.Equal(_v.Setup["key"], Hex.Of(key));
        Assert.Equal(_v.Setup["base_nonce"], Hex.Of(baseNonce));
        Assert.Equal(_v.Setup["exporter_secret"], Hex.Of(exporterSecret));
    }

    [Fact]
    public void Each_encryption_has_the_published_nonce_and_ciphertext_and_opens_to_pt()
    {
        var key = _v.SetupBytes("key");
        var baseNonce = _v.SetupBytes("base_nonce");
        foreach (var e in _v.Encryptions)
        {
            var seq = ulong.Parse(e["sequence number"], System.Globalization.CultureInfo.InvariantCulture);
            var pt = Convert.FromHexString(e["pt"]);
            var aad = Convert.FromHexString(e["aad"]);
            var nonce = new byte[Hpke.NonceLength];
            Hpke.ComputeNonce(baseNonce, seq, nonce);
            Assert.Equal(e["nonce"], Hex.Of(nonce));

            var ct = new byte[pt.Length + Hpke.TagLength];
            Hpke.AeadSeal(key, nonce, aad, pt, ct);
            Assert.Equal(e["ct"], Hex.Of(ct));

            var opened = new byte[pt.Length];
            Assert.True(Hpke.AeadOpen(key, nonce, aad, Convert.FromHexString(e["ct"]), opened));
            Assert.Equal(e["pt"], Hex.Of(opened));
        }
    }

    [Fact]
    public void Single_shot_seal_with_the_fixed_ephemeral_key_is_encryption_zero()
    {
        var first = _v.Encryptions[0];
        var pt = Convert.FromHexString(first["pt"]);
        var enc = new byte[32];
        var ct = new byte[pt.Length + Hpke.TagLength];
        Assert.True(Hpke.SealWithEphemeralKey(_v.SetupBytes("skEm"), _v.SetupBytes("pkRm"), _v.SetupBytes("info"),
            Convert.FromHexString(first["aad"]), pt, enc, ct));
        Assert.Equal(_v.Setup["enc"], Hex.Of(enc));
        Assert.Equal(first["ct"], Hex.Of(ct));
    }

    [Fact]
    public void Single_shot_open_of_encryption_zero_gives_pt_with_or_without_the_public_key()
    {
        var first = _v.Encryptions[0];
        var ct = Convert.FromHexString(first["ct"]);
        var aad = Convert.FromHexString(first["aad"]);
        var pt = new byte[ct.Length - Hpke.TagLength];
        Assert.True(Hpke.Open(_v.SetupBytes("skRm"), _v.SetupBytes("enc"), _v.SetupBytes("info"), aad, ct, pt));
        Assert.Equal(first["pt"], Hex.Of(pt));

        Array.Clear(pt);
        Assert.True(Hpke.Open(_v.SetupBytes("skRm"), _v.SetupBytes("pkRm"), _v.SetupBytes("enc"), _v.SetupBytes("info"), aad, ct, pt));
        Assert.Equal(first["pt"], Hex.Of(pt));
    }
}
