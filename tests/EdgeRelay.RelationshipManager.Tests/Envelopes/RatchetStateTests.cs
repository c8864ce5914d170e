using EdgeRelay.RelationshipManager.Envelopes;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

public sealed class RatchetStateTests : IDisposable
{
    private readonly Pair _p = new();

    public void Dispose() => _p.Dispose();

    [Fact]
    public void A_state_with_three_keys_and_skipped_keys_round_trips_byte_for_byte()
    {
        for (var round = 0; round < 3; round++)
        {
            _p.BobOpens(_p.AliceSends(new Message("a")));
            _p.AliceOpens(_p.BobSends(new Message("b")));
        }

        var pending = _p.AliceSends(new Message("skipped"));
        _p.BobOpens(_p.AliceSends(new Message("after")));
        Assert.Equal(3, _p.BobState.OwnKeys.Count);
        Assert.Single(_p.BobState.Skipped);

        var bytes = _p.BobState.ToBytes();
        using var restored = RatchetState.FromBytes(bytes);
        Assert.Equal(bytes, restored.ToBytes());
        Assert.Equal(_p.BobState.Newest.Public, restored.Newest.Public);

        // The restored state carries on: the skipped message opens from it, and so does the next.
        Assert.Equal("skipped", Assert.IsType<Message>(Suite1.Open(restored, _p.Alice.Public, _p.Bob, pending)).Text);
        Assert.IsType<Message>(Suite1.Open(restored, _p.Alice.Public, _p.Bob, _p.AliceSends(new Message("next"))));
    }

    public static TheoryData<string, Func<byte[], byte[]>> Corruptions => new()
    {
        { "empty", _ => [] },
        { "another format", b => [2, .. b[1..]] },
        { "no ratchet key", b => [b[0], 0, .. b[2..]] },
        { "four ratchet keys", b => [b[0], 4, .. b[2..]] },
        { "truncated", b => b[..^1] },
        { "a byte too many", b => [.. b, 0] },
        { "unknown flags", b => Set(b, 2 + 36, 2) },
        { "skipped count too high", b => Set(b, b.Length - 2 - 36, 0x10) },
        { "skipped number not below the next expected", b => Set(b, b.Length - 36, 0x7f) },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_state_that_does_not_parse_is_refused(string why, Func<byte[], byte[]> corrupt)
    {
        // Bob has one key and one skipped message key, so the offsets in Corruptions hold.
        _p.AliceSends(new Message("skipped"));
        _p.BobOpens(_p.AliceSends(new Message("received")));
        Assert.Single(_p.BobState.OwnKeys);
        Assert.Single(_p.BobState.Skipped);

        var e = Assert.Throws<EnvelopeException>(() => RatchetState.FromBytes(corrupt(_p.BobState.ToBytes())));
        Assert.True(e.Error == EnvelopeError.BadState, why);
    }

    [Fact]
    public void Ratchet_key_ids_must_be_consecutive()
    {
        _p.BobOpens(_p.AliceSends(new Message("a")));
        _p.AliceSends(new Message("b")); // Alice now holds keys 0 (IP) and 1
        var bytes = _p.AliceState.ToBytes();
        Assert.Equal(2, bytes[1]);
        bytes[2 + 36 + 3] = 5; // the second key's id
        Assert.Equal(EnvelopeError.BadState, Assert.Throws<EnvelopeException>(() => RatchetState.FromBytes(bytes)).Error);
    }

    [Fact]
    public void Dispose_zeroes_private_keys_chain_keys_and_skipped_keys()
    {
        _p.AliceSends(new Message("skipped"));
        _p.BobOpens(_p.AliceSends(new Message("received")));
        var state = _p.BobState;
        var secrets = state.OwnKeys.Select(k => k.Private).Append(state.SendChainKey).Append(state.ReceiveChainKey).Concat(state.Skipped.Values).ToList();
        Assert.All(secrets, s => Assert.Contains(s, b => b != 0));

        state.Dispose();

        Assert.All(secrets, s => Assert.All(s, b => Assert.Equal(0, b)));
        Assert.Throws<ObjectDisposedException>(() => state.ToBytes());
    }

    private static byte[] Set(byte[] bytes, int index, byte value)
    {
        bytes[index] = value;
        return bytes;
    }
}
