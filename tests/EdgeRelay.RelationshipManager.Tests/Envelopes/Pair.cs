using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

/// <summary>
/// Two people with a relationship established through an introduction: the inviter (Alice) and the
/// acceptor (Bob), each with the state their side keeps.
/// </summary>
internal sealed class Pair : IDisposable
{
    public Pair()
    {
        Hpke.DeriveKeyPair(Guid.NewGuid().ToByteArray(), InvitationPrivateKey, InvitationKey);
        Random.Shared.NextBytes(InvitationSecret);
        Random.Shared.NextBytes(InvitationId);
        Introduction = Suite.SealIntroduction(Bob, Alice.Public, InvitationId, InvitationKey, InvitationSecret, "Bob", [Card()]);
        BobState = Introduction.State;
        var opened = Suite1.OpenIntroduction(Alice, InvitationId, InvitationPrivateKey, InvitationSecret, Introduction.Bytes.Span);
        AliceState = opened.State;
        Opened = opened;
    }

    public Suite1 Suite { get; } = new();

    public IdentityKeyPair Alice { get; } = IdentityKeyPair.Generate();

    public IdentityKeyPair Bob { get; } = IdentityKeyPair.Generate();

    public byte[] InvitationPrivateKey { get; } = new byte[32];

    public byte[] InvitationKey { get; } = new byte[32];

    public byte[] InvitationSecret { get; } = new byte[32];

    public byte[] InvitationId { get; } = new byte[16];

    public SealedIntroduction Introduction { get; }

    public OpenedIntroduction Opened { get; }

    public RatchetState AliceState { get; private set; }

    public RatchetState BobState { get; private set; }

    public static AddressCard Card() =>
        new(AddressId.NewRandom(), 1_800_000_000, Enumerable.Repeat((byte)7, 32).ToArray(), "relay.example.org:7400");

    public byte[] AliceSends(Command command) => Suite.Seal(AliceState, Alice, Bob.Public, command).Bytes.ToArray();

    public byte[] BobSends(Command command) => Suite.Seal(BobState, Bob, Alice.Public, command).Bytes.ToArray();

    public Command BobOpens(byte[] envelope) => Suite1.Open(BobState, Alice.Public, Bob, envelope);

    public Command AliceOpens(byte[] envelope) => Suite1.Open(AliceState, Bob.Public, Alice, envelope);

    /// <summary>Replaces a side's state by its stored form read back, as an RM does between envelopes.</summary>
    public void Reload()
    {
        var (alice, bob) = (AliceState, BobState);
        AliceState = RatchetState.FromBytes(alice.ToBytes());
        BobState = RatchetState.FromBytes(bob.ToBytes());
        alice.Dispose();
        bob.Dispose();
    }

    public void Dispose()
    {
        AliceState.Dispose();
        BobState.Dispose();
        Alice.Dispose();
        Bob.Dispose();
    }
}
