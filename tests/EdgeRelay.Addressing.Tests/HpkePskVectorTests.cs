using System.Globalization;
using EdgeRelay.Addressing.Tests.Support;

namespace EdgeRelay.Addressing.Tests;

/// <summary>RFC 9180 Appendix A.2.2 (mode psk, DHKEM(X25519), HKDF-SHA256, ChaCha20-Poly1305).</summary>
public class HpkePskVectorTests
{
    private readonly Rfc9180Vectors _v = Rfc9180Vectors.Load(Rfc9180Vectors.Psk);

    [Fact]
    public void Vector_file_parses_with_the_psk_suite_six_encryptions_and_three_exports()
    {
        Assert.Equal("1", _v.Setup["mode"]);
        Assert.Equal("32", _v.Setup["kem_id"]);
        Assert.Equal("1", _v.Setup["kdf_id"]);
        Assert.Equal("3", _v.Setup["aead_id"]);
        Assert.Equal(Hpke.KeyScheduleContextLength, _v.SetupBytes("key_schedule_context").Length);
        Assert.Equal(6, _v.Encryptions.Count);
        Assert.Equal(["", "00", "54657374436f6e74657874"], _v.Exports.Select(e => e["exporter_context"]));
        Assert.All(_v.Exports, e => Assert.Equal(32, Convert.FromHexString(e["exported_value"]).Length));
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
    public void Encap_and_decap_give_the_published_shared_secret()
    {
        var sharedSecret = new byte[32];
        var enc = new byte[32];
        Assert.True(Hpke.Encap(_v.SetupBytes("skEm"), _v.SetupBytes("pkRm"), sharedSecret, enc));
        Assert.Equal(_v.Setup["enc"], Hex.Of(enc));
        Assert.Equal(_v.Setup["shared_secret"], Hex.Of(sharedSecret));

        Array.Clear(sharedSecret);
        Assert.True(Hpke.Decap(enc, _v.SetupBytes("skRm"), _v.SetupBytes("pkRm"), sharedSecret));
        Assert.Equal(_v.Setup["shared_secret"], Hex.Of(sharedSecret));
    }

    [Fact]
    public void Psk_key_schedule_matches_every_intermediate()
    {
        var key = new byte[Hpke.KeyLength];
        var baseNonce = new byte[Hpke.NonceLength];
        var exporterSecret = new byte[Hpke.HashLength];
        var context = new byte[Hpke.KeyScheduleContextLength];
        var secret = new byte[Hpke.HashLength];
        Hpke.KeySchedule(_v.SetupBytes("shared_secret"), _v.SetupBytes("info"), _v.SetupBytes("psk"), _v.SetupBytes("psk_id"),
            key, baseNonce, exporterSecret, context, secret);
        Assert.Equal(_v.Setup["key_schedule_context"], Hex.Of(context));
        Assert.Equal(_v.Setup["secret"], Hex.Of(secret));
        Assert.Equal(_v.Setup["key"], Hex.Of(key));
        Assert.Equal(_v.Setup["base_nonce"], Hex.Of(baseNonce));
        Assert.Equal(_v.Setup["exporter_secret"], Hex.Of(exporterSecret));
    }

    [Fact]
    public void Each_encryption_has_the_published_nonce_and_ciphertext()
    {
        var key = _v.SetupBytes("key");
        var baseNonce = _v.SetupBytes("base_nonce");
        foreach (var e in _v.Encryptions)
        {
            var seq = ulong.Parse(e["sequence number"], CultureInfo.InvariantCulture);
            var pt = Convert.FromHexString(e["pt"]);
            var nonce = new byte[Hpke.NonceLength];
            Hpke.ComputeNonce(baseNonce, seq, nonce);
            Assert.Equal(e["nonce"], Hex.Of(nonce));

            var ct = new byte[pt.Length + Hpke.TagLength];
            Hpke.AeadSeal(key, nonce, Convert.FromHexString(e["aad"]), pt, ct);
            Assert.Equal(e["ct"], Hex.Of(ct));
        }
    }

    [Fact]
    public void Every_exported_value_matches()
    {
        foreach (var e in _v.Exports)
        {
            var exported = new byte[int.Parse(e["L"], CultureInfo.InvariantCulture)];
            Hpke.Export(_v.SetupBytes("exporter_secret"), Convert.FromHexString(e["exporter_context"]), exported);
            Assert.Equal(e["exported_value"], Hex.Of(exported));
        }
    }

    [Fact]
    public void Single_shot_seal_with_the_fixed_ephemeral_key_is_encryption_zero_and_exports_from_the_same_context()
    {
        var first = _v.Encryptions[0];
        var pt = Convert.FromHexString(first["pt"]);
        foreach (var export in _v.Exports)
        {
            var enc = new byte[32];
            var ct = new byte[pt.Length + Hpke.TagLength];
            var exported = new byte[32];
            Assert.True(Hpke.SealPskWithEphemeralKey(_v.SetupBytes("skEm"), _v.SetupBytes("pkRm"), _v.SetupBytes("info"),
                Convert.FromHexString(first["aad"]), _v.SetupBytes("psk"), _v.SetupBytes("psk_id"), pt, enc, ct,
                Convert.FromHexString(export["exporter_context"]), exported));
            Assert.Equal(_v.Setup["enc"], Hex.Of(enc));
            Assert.Equal(first["ct"], Hex.Of(ct));
            Assert.Equal(export["exported_value"], Hex.Of(exported));
        }
    }

    [Fact]
    public void Single_shot_open_of_encryption_zero_gives_pt_and_every_exported_value()
    {
        var first = _v.Encryptions[0];
        var ct = Convert.FromHexString(first["ct"]);
        foreach (var export in _v.Exports)
        {
            var pt = new byte[ct.Length - Hpke.TagLength];
            var exported = new byte[32];
            Assert.True(Hpke.OpenPsk(_v.SetupBytes("skRm"), _v.SetupBytes("pkRm"), _v.SetupBytes("enc"), _v.SetupBytes("info"),
                Convert.FromHexString(first["aad"]), _v.SetupBytes("psk"), _v.SetupBytes("psk_id"), ct, pt,
                Convert.FromHexString(export["exporter_context"]), exported));
            Assert.Equal(first["pt"], Hex.Of(pt));
            Assert.Equal(export["exported_value"], Hex.Of(exported));
        }
    }
}
