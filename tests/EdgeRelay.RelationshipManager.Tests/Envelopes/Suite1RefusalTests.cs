using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

/// <summary>Every refusal of a message leaves the receiver's state as it was, so the next good message opens.</summary>
public sealed class Suite1RefusalTests : IDisposable
{
    private readonly Pair _p = new();
    private readonly IdentityKeyPair _carol = IdentityKeyPair.Generate();

    public Suite1RefusalTests()
    {
        // One round trip first, so that both sides have stepped their ratchet keys once.
        _p.BobOpens(_p.AliceSends(new Message("hello")));
        _p.AliceOpens(_p.BobSends(new Message("hi")));
    }

    public void Dispose()
    {
        _p.Dispose();
        _carol.Dispose();
    }

    [Theory]
    [InlineData(10)]   // header: the message number, 2 further on (the header is HPKE's aad)
    [InlineData(3)]    // header: the recipient key id, to the previous key
    [InlineData(11)]   // enc
    [InlineData(43)]   // ciphertext
    [InlineData(200)]  // ciphertext (padding and signature)
    [InlineData(255)]  // tag
    public void Tampering_with_any_region_does_not_open(int index)
    {
        var envelope = _p.AliceSends(new Message("tamper with me"));
        var tampered = (byte[])envelope.Clone();
        if (index == 3)
        {
            tampered[6]--; // Alice sealed to Bob's key 1; key 0 is still kept
        }
        else if (index == 10)
        {
            tampered[10] += 2; // within the skip bound, so the receiver tries the key of that number
        }
        else
        {
            tampered[index] ^= 0x01;
        }

        AssertRefused(EnvelopeError.DoesNotOpen, () => _p.BobOpens(tampered));
        Assert.Equal("tamper with me", Assert.IsType<Message>(_p.BobOpens(envelope)).Text);
    }

    [Fact]
    public void A_message_for_someone_else_or_from_someone_else_does_not_open()
    {
        var envelope = _p.AliceSends(new Message("for Bob"));
        AssertRefused(EnvelopeError.DoesNotOpen, () => Suite1.Open(_p.BobState, _p.Alice.Public, _carol, envelope));
        AssertRefused(EnvelopeError.DoesNotOpen, () => Suite1.Open(_p.BobState, _carol.Public, _p.Bob, envelope));
        Assert.IsType<Message>(_p.BobOpens(envelope));
    }

    [Fact]
    public void A_signature_by_another_key_is_refused()
    {
        var body = Forge.Body(_p.AliceState, new Message("signed by Carol"));
        var forged = Forge.Message(_p.AliceState, _p.Alice.Public, _carol, _p.Bob.Public, body);
        AssertRefused(EnvelopeError.BadSignature, () => _p.BobOpens(forged));

        // The same hand-made envelope signed by Alice opens: the forge follows the specification.
        var honest = Forge.Message(_p.AliceState, _p.Alice.Public, _p.Alice, _p.Bob.Public, body);
        Assert.Equal("signed by Carol", Assert.IsType<Message>(_p.BobOpens(honest)).Text);
    }

    [Fact]
    public void A_padding_byte_that_is_not_zero_is_refused()
    {
        var body = Forge.Body(_p.AliceState, new Message("padded"));
        var forged = Forge.Message(_p.AliceState, _p.Alice.Public, _p.Alice, _p.Bob.Public, body, alterInner: inner => inner[4 + body.Length + 3] = 1);
        AssertRefused(EnvelopeError.BadPadding, () => _p.BobOpens(forged));
        Assert.IsType<Message>(_p.BobOpens(_p.AliceSends(new Message("next"))));
    }

    [Fact]
    public void A_body_length_past_the_padding_is_malformed()
    {
        var body = Forge.Body(_p.AliceState, new Message("long"));
        var forged = Forge.Message(_p.AliceState, _p.Alice.Public, _p.Alice, _p.Bob.Public, body,
            alterInner: inner => System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(inner, (uint)(inner.Length - 4 - 64 + 1)));
        AssertRefused(EnvelopeError.Malformed, () => _p.BobOpens(forged));
    }

    [Fact]
    public void A_body_that_is_not_a_command_or_an_introduce_in_a_message_is_malformed()
    {
        var garbage = Forge.Message(_p.AliceState, _p.Alice.Public, _p.Alice, _p.Bob.Public, [0xa0]);
        AssertRefused(EnvelopeError.Malformed, () => _p.BobOpens(garbage));

        var introduce = Forge.Body(_p.AliceState, new Introduce(_p.Alice.Public, "Alice", [Pair.Card()]));
        var forged = Forge.Message(_p.AliceState, _p.Alice.Public, _p.Alice, _p.Bob.Public, introduce, size: 1024);
        AssertRefused(EnvelopeError.Malformed, () => _p.BobOpens(forged));
    }

    [Fact]
    public void A_command_type_this_version_does_not_know_is_refused()
    {
        var body = Forge.Body(_p.AliceState, new Terminated());
        body[2] = 12; // map(5), key 0, type 5 → 12, the first this version does not define
        var forged = Forge.Message(_p.AliceState, _p.Alice.Public, _p.Alice, _p.Bob.Public, body);
        AssertRefused(EnvelopeError.UnknownCommand, () => _p.BobOpens(forged));
    }

    [Fact]
    public void A_ratchet_key_that_changes_under_a_known_id_or_is_of_low_order_is_refused()
    {
        var good = Forge.Body(_p.AliceState, new Message("x"));
        var command = new Message("x") with
        {
            Id = new CommandId(1, 1),
            SentAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000),
            RatchetKeyId = _p.AliceState.Newest.Id,
            RatchetKey = new byte[32],
        };
        var sameIdOtherKey = CommandCodec.Encode(command with { RatchetKey = _p.BobState.Newest.Public });
        AssertRefused(EnvelopeError.BadRatchetKey, () => _p.BobOpens(Forge.Message(_p.AliceState, _p.Alice.Public, _p.Alice, _p.Bob.Public, sameIdOtherKey)));

        var lowOrder = CommandCodec.Encode(command with { RatchetKeyId = _p.AliceState.Newest.Id + 1 });
        AssertRefused(EnvelopeError.BadRatchetKey, () => _p.BobOpens(Forge.Message(_p.AliceState, _p.Alice.Public, _p.Alice, _p.Bob.Public, lowOrder)));
        Assert.IsType<Message>(_p.BobOpens(Forge.Message(_p.AliceState, _p.Alice.Public, _p.Alice, _p.Bob.Public, good)));
    }

    [Fact]
    public void Header_refusals_have_their_own_codes()
    {
        var envelope = _p.AliceSends(new Message("x"));
        AssertRefused(EnvelopeError.Malformed, () => _p.BobOpens([1, 1]));
        AssertRefused(EnvelopeError.UnknownVersion, () => _p.BobOpens([2, .. envelope[1..]]));
        AssertRefused(EnvelopeError.UnknownSuite, () => _p.BobOpens([1, 2, .. envelope[2..]]));
        AssertRefused(EnvelopeError.UnknownKind, () => _p.BobOpens([1, 1, 3, .. envelope[3..]]));
        AssertRefused(EnvelopeError.WrongLength, () => _p.BobOpens(envelope[..^1]));
        AssertRefused(EnvelopeError.WrongLength, () => _p.BobOpens([.. envelope, 0]));
        AssertRefused(EnvelopeError.WrongKind, () => _p.BobOpens(_p.Introduction.Bytes.ToArray()));
        AssertRefused(EnvelopeError.Malformed, () => _p.BobOpens([.. envelope[..7], 0xff, 0xff, 0xff, 0xff, .. envelope[11..]]));
        Assert.False(Envelope.TryReadHeader([2, .. envelope[1..]], out _));
        Assert.IsType<Message>(_p.BobOpens(envelope));
    }

    [Fact]
    public void Each_body_lands_in_the_smallest_envelope_that_holds_it_and_a_longer_one_is_refused()
    {
        var seen = new HashSet<int>();
        foreach (var size in Envelope.Sizes)
        {
            var max = size - 11 - 32 - 16 - 4 - 64;
            foreach (var bodyLength in (int[])[max, max + 1])
            {
                var text = TextForBody(bodyLength);
                var sealedEnvelope = _p.Suite.Seal(_p.AliceState, _p.Alice, _p.Bob.Public, new Message(text));
                var actualBody = CommandCodec.Encode(sealedEnvelope.Command).Length;
                Assert.Equal(Envelope.SizeFor(EnvelopeKind.Message, actualBody), sealedEnvelope.Bytes.Length);
                seen.Add(sealedEnvelope.Bytes.Length);
                Assert.Equal(text, Assert.IsType<Message>(_p.BobOpens(sealedEnvelope.Bytes.ToArray())).Text);
                if (size == Envelope.MaxLength)
                {
                    break;
                }
            }
        }

        Assert.Equal([256, 1024, 4096, 16384], seen.Order());
        var before = _p.AliceState.ToBytes();
        var tooLong = new Message(new string('x', Envelope.MaxBodyLength(EnvelopeKind.Message)));
        Assert.Equal(EnvelopeError.TooLarge, Assert.Throws<EnvelopeException>(() => _p.AliceSends(tooLong)).Error);
        Assert.Equal(before, _p.AliceState.ToBytes());
    }

    [Fact]
    public void The_last_message_number_is_never_sealed()
    {
        _p.AliceState.SendNext = uint.MaxValue;
        Assert.Equal(EnvelopeError.ChainExhausted, Assert.Throws<EnvelopeException>(() => _p.AliceSends(new Message("x"))).Error);
    }

    // The text whose message body is exactly bodyLength bytes (the text's CBOR head grows with it).
    private string TextForBody(int bodyLength)
    {
        var text = new string('x', bodyLength);
        while (Forge.Body(_p.AliceState, new Message(text)).Length > bodyLength)
        {
            text = text[1..];
        }

        Assert.Equal(bodyLength, Forge.Body(_p.AliceState, new Message(text)).Length);
        return text;
    }

    private void AssertRefused(EnvelopeError expected, Action open)
    {
        var before = _p.BobState.ToBytes();
        Assert.Equal(expected, Assert.Throws<EnvelopeException>(open).Error);
        Assert.Equal(before, _p.BobState.ToBytes());
    }
}
