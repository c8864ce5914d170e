using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests;

public sealed class StateSealerTests : IDisposable
{
    private static readonly byte[] Row1 = "relationships/1/ratchet"u8.ToArray();
    private static readonly byte[] Row2 = "relationships/2/ratchet"u8.ToArray();

    private readonly StateSealer _sealer = new(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());

    public void Dispose() => _sealer.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    public void A_sealed_blob_opens_in_its_place(int length)
    {
        var plaintext = Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

        var sealedData = _sealer.Seal(plaintext, Row1);

        Assert.Equal(length + StateSealer.Overhead, sealedData.Length);
        Assert.Equal(plaintext, _sealer.Open(sealedData, Row1));
    }

    [Fact]
    public void A_blob_moved_to_another_place_does_not_open()
    {
        var sealedData = _sealer.Seal("secret"u8, Row1);

        var refusal = Assert.Throws<KeyStoreException>(() => _sealer.Open(sealedData, Row2));

        Assert.Equal(KeyStoreError.SealedDataRejected, refusal.Error);
        Assert.False(_sealer.TryOpen(sealedData, [], out _));
    }

    [Fact]
    public void Every_altered_byte_is_refused()
    {
        var sealedData = _sealer.Seal("secret"u8, Row1);

        for (int i = 0; i < sealedData.Length; i++)
        {
            var altered = (byte[])sealedData.Clone();
            altered[i] ^= 0x01;
            Assert.False(_sealer.TryOpen(altered, Row1, out _), $"byte {i}");
        }
    }

    [Fact]
    public void A_truncated_blob_is_refused()
    {
        var sealedData = _sealer.Seal("secret"u8, Row1);

        for (int length = 0; length < sealedData.Length; length++)
        {
            Assert.False(_sealer.TryOpen(sealedData.AsSpan(0, length), Row1, out _), $"length {length}");
        }
    }

    [Fact]
    public void Sealing_twice_draws_two_nonces()
    {
        var one = _sealer.Seal("same"u8, Row1);
        var two = _sealer.Seal("same"u8, Row1);

        Assert.NotEqual(one[..StateSealer.NonceLength], two[..StateSealer.NonceLength]);
        Assert.NotEqual(one, two);
    }

    [Fact]
    public void Another_state_key_opens_nothing()
    {
        using var other = new StateSealer(new byte[32]);

        Assert.False(other.TryOpen(_sealer.Seal("secret"u8, Row1), Row1, out _));
    }
}
