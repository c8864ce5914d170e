using EdgeRelay.RelationshipManager.Envelopes;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

public sealed class Suite1Tests : IDisposable
{
    private readonly Pair _p = new();

    public void Dispose() => _p.Dispose();

    [Fact]
    public void The_introduction_carries_the_acceptors_identity_name_cards_and_ratchet_key_0()
    {
        var introduce = _p.Opened.Command;
        Assert.Equal(_p.Bob.Public, _p.Opened.Acceptor);
        Assert.Equal("Bob", introduce.Name);
        Assert.Equal(_p.Introduction.Command.Cards[0].ToArray(), Assert.Single(introduce.Cards).ToArray());
        Assert.Equal(_p.Introduction.Command.Id, introduce.Id);
        Assert.Equal(0u, introduce.RatchetKeyId);
        Assert.Equal(_p.BobState.Newest.Public, introduce.RatchetKey.ToArray());
        // Both sides derived the same two chains, crossed.
        Assert.Equal(_p.BobState.SendChainKey, _p.AliceState.ReceiveChainKey);
        Assert.Equal(_p.AliceState.SendChainKey, _p.BobState.ReceiveChainKey);
        Assert.NotEqual(_p.AliceState.SendChainKey, _p.AliceState.ReceiveChainKey);
    }

    [Fact]
    public void Many_round_trips_both_ways_step_the_ratchet_keys_once_per_round_trip()
    {
        for (var round = 0; round < 20; round++)
        {
            var fromAlice = _p.AliceSends(new Message($"a{round}"));
            // Alice's first reply steps past IP (key 0): the introduction was sealed to it.
            Assert.Equal((uint)(round + 1), _p.AliceState.Newest.Id);
            Assert.Equal($"a{round}", Assert.IsType<Message>(_p.BobOpens(fromAlice)).Text);
            Assert.Equal((uint)(round + 1), _p.BobState.PeerKeyId);

            var fromBob = _p.BobSends(new Message($"b{round}"));
            Assert.Equal((uint)(round + 1), _p.BobState.Newest.Id);
            Assert.Equal($"b{round}", Assert.IsType<Message>(_p.AliceOpens(fromBob)).Text);

            // At most the newest three private keys are kept, with consecutive ids.
            Assert.Equal(Math.Min(round + 2, 3), _p.AliceState.OwnKeys.Count);
            Assert.Equal(Math.Min(round + 2, 3), _p.BobState.OwnKeys.Count);
            _p.Reload();
        }
    }

    [Fact]
    public void Several_messages_before_a_reply_use_one_ratchet_key()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.IsType<Message>(_p.BobOpens(_p.AliceSends(new Message("x"))));
        }

        Assert.Equal(1u, _p.AliceState.Newest.Id);
        Assert.Equal(5u, _p.AliceState.SendNext);
        Assert.Equal(5u, _p.BobState.ReceiveNext);
    }

    [Fact]
    public void The_acceptor_may_write_first_to_the_invitation_key()
    {
        var envelope = _p.BobSends(new Message("hello first"));
        Assert.Equal(0u, Envelope.ReadHeader(envelope).RecipientKeyId);
        Assert.Equal(0u, _p.BobState.Newest.Id); // no message from Alice yet: no step
        Assert.Equal("hello first", Assert.IsType<Message>(_p.AliceOpens(envelope)).Text);
    }

    [Fact]
    public void Out_of_order_delivery_within_the_bounds_opens_every_message_once()
    {
        var envelopes = Enumerable.Range(0, 40).Select(i => _p.AliceSends(new Message($"m{i}"))).ToArray();
        var order = Enumerable.Range(0, 40).Reverse().ToArray();
        foreach (var i in order)
        {
            Assert.Equal($"m{i}", Assert.IsType<Message>(_p.BobOpens(envelopes[i])).Text);
        }

        Assert.Empty(_p.BobState.Skipped);
        Assert.Equal(40u, _p.BobState.ReceiveNext);
    }

    [Fact]
    public void A_duplicate_is_refused_as_a_replay_whether_it_was_in_order_or_skipped()
    {
        var first = _p.AliceSends(new Message("one"));
        var second = _p.AliceSends(new Message("two"));
        _p.BobOpens(second);
        _p.BobOpens(first); // from the skipped keys
        Assert.Equal(EnvelopeError.Replay, Assert.Throws<EnvelopeException>(() => _p.BobOpens(first)).Error);
        Assert.Equal(EnvelopeError.Replay, Assert.Throws<EnvelopeException>(() => _p.BobOpens(second)).Error);
        Assert.Equal("three", Assert.IsType<Message>(_p.BobOpens(_p.AliceSends(new Message("three")))).Text);
    }

    [Fact]
    public void Skipping_256_is_allowed_and_257_is_refused_without_a_change()
    {
        var envelopes = Enumerable.Range(0, 259).Select(i => _p.AliceSends(new Message($"m{i}"))).ToArray();
        Assert.Equal(EnvelopeError.TooManySkipped, Assert.Throws<EnvelopeException>(() => _p.BobOpens(envelopes[257])).Error);
        Assert.Equal(0u, _p.BobState.ReceiveNext);
        Assert.Empty(_p.BobState.Skipped);

        Assert.Equal("m256", Assert.IsType<Message>(_p.BobOpens(envelopes[256])).Text);
        Assert.Equal(256, _p.BobState.Skipped.Count);
        Assert.Equal("m3", Assert.IsType<Message>(_p.BobOpens(envelopes[3])).Text);
    }

    [Fact]
    public void At_most_1000_skipped_keys_are_kept_the_lowest_numbers_dropped_first()
    {
        var envelopes = new List<byte[]>();
        for (var i = 0; i < 1300; i++)
        {
            envelopes.Add(_p.AliceSends(new Message($"m{i}")));
        }

        // Open every fifth: 4 skipped per step, 1040 in all, so the 40 lowest (below 50) are dropped.
        for (var i = 4; i < 1300; i += 5)
        {
            _p.BobOpens(envelopes[i]);
        }

        Assert.Equal(RatchetState.MaxSkipped, _p.BobState.Skipped.Count);
        Assert.Equal(EnvelopeError.Replay, Assert.Throws<EnvelopeException>(() => _p.BobOpens(envelopes[0])).Error);
        Assert.Equal(EnvelopeError.Replay, Assert.Throws<EnvelopeException>(() => _p.BobOpens(envelopes[48])).Error);
        Assert.Equal("m51", Assert.IsType<Message>(_p.BobOpens(envelopes[51])).Text);
        Assert.Equal("m1298", Assert.IsType<Message>(_p.BobOpens(envelopes[1298])).Text);
    }

    [Fact]
    public void A_message_to_a_deleted_ratchet_key_is_stale_and_one_to_an_uncreated_key_is_unknown()
    {
        // A message Bob wrote to Alice's key 1, delivered only after Alice has created keys 2, 3 and 4
        // (the first round below does not step: Alice has not yet seen a message to her key 1).
        _p.BobOpens(_p.AliceSends(new Message("a0")));
        var late = _p.BobSends(new Message("late"));
        Assert.Equal(1u, Envelope.ReadHeader(late).RecipientKeyId);
        for (var round = 0; round < 4; round++)
        {
            _p.BobOpens(_p.AliceSends(new Message("a")));
            _p.AliceOpens(_p.BobSends(new Message("b")));
        }

        Assert.Equal(4u, _p.AliceState.Newest.Id);
        Assert.Equal(EnvelopeError.StaleKey, Assert.Throws<EnvelopeException>(() => _p.AliceOpens(late)).Error);

        var ahead = _p.BobSends(new Message("x"));
        ahead[6] = 9; // recipient key id 9: Alice has no such key
        Assert.Equal(EnvelopeError.UnknownKey, Assert.Throws<EnvelopeException>(() => _p.AliceOpens(ahead)).Error);
    }

    [Fact]
    public void A_message_to_the_second_newest_key_still_opens()
    {
        _p.BobOpens(_p.AliceSends(new Message("a0")));
        var toKey1 = _p.BobSends(new Message("to key 1"));
        _p.AliceOpens(toKey1);
        var toKey1Again = _p.BobSends(new Message("to key 1 again"));
        _p.BobOpens(_p.AliceSends(new Message("a1"))); // Alice steps to key 2

        Assert.Equal(2u, _p.AliceState.Newest.Id);
        Assert.Equal("to key 1 again", Assert.IsType<Message>(_p.AliceOpens(toKey1Again)).Text);
    }

    [Fact]
    public void Every_command_type_round_trips_with_its_common_fields()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_123));
        var suite = new Suite1(clock);
        var id = new CommandId(1, 2);
        Command[] commands =
        [
            new Message("hé"),
            new Received([id]),
            new Read([id, new CommandId(3, 4)]),
            new Update("New name", [Pair.Card()], ["files"], [AddressId.NewRandom()]),
            new Update(),
            new Terminated(),
        ];
        foreach (var command in commands)
        {
            var sealedEnvelope = suite.Seal(_p.AliceState, _p.Alice, _p.Bob.Public, command);
            var opened = _p.BobOpens(sealedEnvelope.Bytes.ToArray());
            Assert.Equal(command.GetType(), opened.GetType());
            Assert.Equal(sealedEnvelope.Command.Id, opened.Id);
            Assert.Equal(clock.GetUtcNow(), opened.SentAt);
            Assert.Equal(CommandCodec.Encode(sealedEnvelope.Command), CommandCodec.Encode(opened));
        }
    }
}
