namespace EdgeRelay.Addressing.Tests;

public sealed class EphemeralAddressTests : IDisposable
{
    private readonly ServiceKey _key = ServiceKey.Generate();
    private readonly AddressCard _card;

    public EphemeralAddressTests()
    {
        _card = new AddressCard(AddressId.NewRandom(), 2_000_000_000, _key.PublicKey.Span, "relay.example:7443");
    }

    public void Dispose() => _key.Dispose();

    [Fact]
    public void Derived_address_has_the_documented_layout_and_opens_to_aid_and_not_after()
    {
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(_card, 1_900_000_000, address);
        Assert.Equal(73, address.Length);
        Assert.Equal(EphemeralAddress.Version, address[0]);

        Assert.True(EphemeralAddress.TryOpen(_key.PrivateKey, address, out var aid, out var notAfter));
        Assert.Equal(_card.Aid, aid);
        Assert.Equal(1_900_000_000, notAfter);
    }

    [Fact]
    public void Two_derivations_differ_in_every_region_and_open_to_the_same_aid()
    {
        var a = new byte[EphemeralAddress.Length];
        var b = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(_card, 1_900_000_000, a);
        EphemeralAddress.Derive(_card, 1_900_000_000, b);

        Assert.False(a.AsSpan(1, 32).SequenceEqual(b.AsSpan(1, 32)), "enc repeated");
        Assert.False(a.AsSpan(33, 24).SequenceEqual(b.AsSpan(33, 24)), "ciphertext repeated");
        Assert.False(a.AsSpan(57, 16).SequenceEqual(b.AsSpan(57, 16)), "tag repeated");

        Assert.True(EphemeralAddress.TryOpen(_key.PrivateKey, a, out var aidA, out _));
        Assert.True(EphemeralAddress.TryOpen(_key.PrivateKey, b, out var aidB, out _));
        Assert.Equal(_card.Aid, aidA);
        Assert.Equal(aidA, aidB);
    }

    [Fact]
    public void The_aid_does_not_appear_in_the_clear()
    {
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(_card, 1_900_000_000, address);
        var aid = new byte[16];
        _card.Aid.Write(aid);
        Assert.Equal(-1, address.AsSpan().IndexOf(aid));
    }

    [Fact]
    public void The_internal_open_with_the_key_pair_agrees_with_the_public_one()
    {
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(_key.PublicKey.Span, _card.Aid, 42, address);
        Assert.True(EphemeralAddress.TryOpen(_key, address, out var aid, out var notAfter));
        Assert.Equal(_card.Aid, aid);
        Assert.Equal(42, notAfter);
    }

    [Fact]
    public void Malformed_addresses_do_not_open()
    {
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(_card, 1_900_000_000, address);

        Assert.False(EphemeralAddress.TryOpen(_key.PrivateKey, address.AsSpan(0, 72), out _, out _)); // short
        Assert.False(EphemeralAddress.TryOpen(_key.PrivateKey, [.. address, 0], out _, out _));      // long
        Assert.False(EphemeralAddress.TryOpen(_key.PrivateKey, [], out _, out _));                    // empty

        var wrongVersion = (byte[])address.Clone();
        wrongVersion[0] = 2;
        Assert.False(EphemeralAddress.TryOpen(_key.PrivateKey, wrongVersion, out _, out _));

        for (var i = 1; i < EphemeralAddress.Length; i += 9)
        {
            var flipped = (byte[])address.Clone();
            flipped[i] ^= 0x10;
            Assert.False(EphemeralAddress.TryOpen(_key.PrivateKey, flipped, out var aid, out _), $"flip at {i} opened");
            Assert.True(aid.IsEmpty);
        }
    }

    [Fact]
    public void Another_relays_key_does_not_open_it()
    {
        using var other = ServiceKey.Generate();
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(_card, 1_900_000_000, address);
        Assert.False(EphemeralAddress.TryOpen(other.PrivateKey, address, out _, out _));
    }

    [Fact]
    public void Derive_refuses_an_expiry_past_the_card_a_wrong_destination_and_a_low_order_key()
    {
        var address = new byte[EphemeralAddress.Length];
        Assert.Throws<ArgumentOutOfRangeException>(() => EphemeralAddress.Derive(_card, _card.ExpiresAtUnixSeconds + 1, address));
        Assert.Throws<ArgumentException>(() => EphemeralAddress.Derive(_card, 1, new byte[72]));
        Assert.Throws<ArgumentException>(() => EphemeralAddress.Derive(new byte[32], _card.Aid, 1, address));
        Assert.Throws<ArgumentException>(() => EphemeralAddress.Derive(_key.PublicKey.Span, default, 1, address));
    }
}
