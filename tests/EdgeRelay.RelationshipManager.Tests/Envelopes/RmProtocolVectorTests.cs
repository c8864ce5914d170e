using System.Security.Cryptography;
using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

/// <summary>
/// docs/vectors/rm-protocol-v1.txt: from its fixed keys, randomness and times, every derived value and
/// envelope is computed again and must match byte for byte, and each envelope opens on the other side.
/// </summary>
public sealed class RmProtocolVectorTests
{
    private static readonly string[] Groups = ["alice", "bob", "invitation", "introduction", "alice_first", "bob_first", "alice_step", "bob_receipt"];

    [Fact]
    public void Every_value_is_regenerated_byte_for_byte_and_every_envelope_opens()
    {
        var v = ProtocolVectors.Load("rm-protocol-v1.txt");
        foreach (var (name, value) in Generate(v))
        {
            Assert.True(value == v.Text(name), $"{name}: computed {value}");
        }

        Assert.Empty(v.Unread(Groups));
        Assert.Empty(v.Entries.Select(e => ProtocolVectors.GroupOf(e.Key)).Distinct().Except(Groups));
    }

    [Fact]
    public void The_first_message_is_rebuilt_from_the_specification_text_alone()
    {
        // §4, §5.1 and §5.4 step by step, with HMAC from the base library rather than the suite's Chain.
        var v = ProtocolVectors.Load("rm-protocol-v1.txt");
        using var alice = IdentityKeyPair.FromPrivateKeys(v.Bytes("alice.signing_seed"), v.Bytes("alice.agreement_private_key"));
        var bobSigningKey = v.Bytes("bob.signing_public_key");
        byte[] header = [1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0]; // to Bob's key 0, n = 0
        var chainKey = v.Bytes("introduction.chain_keys")[32..]; // inviter → acceptor
        var messageKey = HMACSHA256.HashData(chainKey, new byte[] { 0x01 });
        Assert.Equal(v.Bytes("alice_first.message_key"), messageKey);

        var body = v.Bytes("alice_first.body");
        var inner = new byte[256 - header.Length - 32 - 16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(inner, (uint)body.Length);
        body.CopyTo(inner, 4);
        var enc = new byte[32];
        Assert.True(Hpke.TryComputePublicKey(v.Bytes("alice_first.ephemeral_private_key"), enc));
        alice.Sign([.. "EdgeRelay-RM-v1 signature"u8, .. bobSigningKey, .. header, .. enc, .. inner[..^64]], inner.AsSpan(inner.Length - 64));

        var ciphertext = new byte[inner.Length + 16];
        byte[] info = [.. "EdgeRelay-RM-v1 message"u8, .. alice.Public.SigningKey, .. bobSigningKey];
        Assert.True(Hpke.SealPskWithEphemeralKey(v.Bytes("alice_first.ephemeral_private_key"), v.Bytes("introduction.ratchet_public_key"),
            info, header, messageKey, "EdgeRelay-RM-v1 chain"u8, inner, enc, ciphertext));
        Assert.Equal(v.Bytes("alice_first.envelope"), (byte[])[.. header, .. enc, .. ciphertext]);
    }

    /// <summary>Runs the file's conversation and returns each computed value under its name.</summary>
    internal static List<(string Name, string Value)> Generate(ProtocolVectors v)
    {
        var outputs = new List<(string, string)>();
        void Out(string name, ReadOnlySpan<byte> value) => outputs.Add((name, Convert.ToHexStringLower(value)));

        using var alice = IdentityKeyPair.FromPrivateKeys(v.Bytes("alice.signing_seed"), v.Bytes("alice.agreement_private_key"));
        using var bob = IdentityKeyPair.FromPrivateKeys(v.Bytes("bob.signing_seed"), v.Bytes("bob.agreement_private_key"));
        Out("alice.signing_public_key", alice.Public.SigningKey);
        Out("alice.agreement_public_key", alice.Public.AgreementKey);
        Out("bob.signing_public_key", bob.Public.SigningKey);
        Out("bob.agreement_public_key", bob.Public.AgreementKey);

        var invitationPrivate = v.Bytes("invitation.private_key");
        var invitationKey = new byte[32];
        Assert.True(Hpke.TryComputePublicKey(invitationPrivate, invitationKey));
        var secret = v.Bytes("invitation.secret");
        var invitationId = SHA256.HashData([.. "EdgeRelay-RM-v1 invitation id"u8, .. secret])[..16];
        Out("invitation.public_key", invitationKey);
        Out("invitation.id", invitationId);

        // The acceptor (Bob) introduces himself; the inviter (Alice) opens it.
        var (suite, script) = SuiteFor(v, "introduction", withRatchetKey: true);
        var introduction = suite.SealIntroduction(bob, alice.Public, invitationId, invitationKey, secret, v.Text("bob.name"), [AddressCard.Decode(v.Bytes("bob.card"))]);
        script.AssertDrained();
        using var bobState = introduction.State;
        Out("introduction.ratchet_public_key", bobState.Newest.Public);
        Out("introduction.body", CommandCodec.Encode(introduction.Command));
        Out("introduction.chain_keys", [.. bobState.SendChainKey, .. bobState.ReceiveChainKey]);
        Out("introduction.envelope", introduction.Bytes.Span);

        var opened = Suite1.OpenIntroduction(alice, invitationId, invitationPrivate, secret, introduction.Bytes.Span);
        using var aliceState = opened.State;
        Assert.Equal(bob.Public, opened.Acceptor);
        Assert.Equal(v.Text("bob.name"), opened.Command.Name);

        var first = Exchange(v, "alice_first", aliceState, alice, bobState, bob, new Message(v.Text("alice_first.text")), Out);
        Assert.Equal(v.Text("alice_first.text"), Assert.IsType<Message>(first).Text);
        var reply = Exchange(v, "bob_first", bobState, bob, aliceState, alice, new Message(v.Text("bob_first.text")), Out);
        Assert.Equal(v.Text("bob_first.text"), Assert.IsType<Message>(reply).Text);
        var stepped = Exchange(v, "alice_step", aliceState, alice, bobState, bob, new Message(v.Text("alice_step.text")), Out);
        Assert.Equal(2u, stepped.RatchetKeyId);
        var receipt = Exchange(v, "bob_receipt", bobState, bob, aliceState, alice, new Received([stepped.Id]), Out);
        Assert.Equal(stepped.Id, Assert.Single(Assert.IsType<Received>(receipt).Ids));
        return outputs;
    }

    // One message: sealed with the group's fixed randomness and time, then opened by the receiver.
    private static Command Exchange(
        ProtocolVectors v,
        string group,
        RatchetState senderState,
        IdentityKeyPair sender,
        RatchetState receiverState,
        IdentityKeyPair receiver,
        Command command,
        OutputWriter output)
    {
        var (suite, script) = SuiteFor(v, group, withRatchetKey: senderState.PeerReachedNewest);
        var messageKey = new byte[32];
        Chain.Step(senderState.SendChainKey, messageKey, new byte[32]);
        var sealedEnvelope = suite.Seal(senderState, sender, receiver.Public, command);
        script.AssertDrained();

        output($"{group}.ratchet_public_key", senderState.Newest.Public);
        output($"{group}.message_key", messageKey);
        output($"{group}.body", CommandCodec.Encode(sealedEnvelope.Command));
        output($"{group}.envelope", sealedEnvelope.Bytes.Span);
        var opened = Suite1.Open(receiverState, sender.Public, receiver, sealedEnvelope.Bytes.Span);
        Assert.Equal(sealedEnvelope.Command.Id, opened.Id);
        return opened;
    }

    private static (Suite1 Suite, Script Script) SuiteFor(ProtocolVectors v, string group, bool withRatchetKey)
    {
        var script = new Script(DateTimeOffset.FromUnixTimeMilliseconds(v.Number($"{group}.sent_at")));
        if (withRatchetKey)
        {
            script.Add(v.Bytes($"{group}.ratchet_private_key"));
        }

        script.Add(v.Bytes($"{group}.command_id"));
        script.Add(v.Bytes($"{group}.ephemeral_private_key"));
        return (new Suite1(script, script.Fill), script);
    }

    private delegate void OutputWriter(string name, ReadOnlySpan<byte> value);

    /// <summary>The fixed time and the fixed random bytes, handed out in the order the suite asks for them.</summary>
    private sealed class Script(DateTimeOffset now) : FakeTimeProvider(now)
    {
        private readonly Queue<byte[]> _bytes = new();

        public void Add(byte[] bytes) => _bytes.Enqueue(bytes);

        public void Fill(Span<byte> buffer)
        {
            var next = _bytes.Dequeue();
            Assert.Equal(next.Length, buffer.Length);
            next.CopyTo(buffer);
        }

        public void AssertDrained() => Assert.Empty(_bytes);
    }
}
