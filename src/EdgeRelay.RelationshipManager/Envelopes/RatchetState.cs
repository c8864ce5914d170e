using System.Security.Cryptography;
using EdgeRelay.Addressing;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>
/// The secret state of one relationship under suite 1 (docs/RM-PROTOCOL.md §5): this side's newest
/// ratchet key pairs, the peer's current ratchet key, the two chains and the skipped message keys.
/// <see cref="Suite1"/> changes it when a message is sealed, or opened and verified; never on a refusal.
/// </summary>
/// <remarks>
/// <para>Persist it with <see cref="ToBytes"/> after every change (before the sealed envelope is handed
/// to a relay, so that a message number is never used twice) and restore it with <see cref="FromBytes"/>.
/// Those bytes hold private keys: seal them before they are stored, and zero the array afterwards.</para>
/// <para>Not thread-safe: one relationship's envelopes are sealed and opened one at a time.</para>
/// </remarks>
public sealed partial class RatchetState : IDisposable
{
    /// <summary>Private ratchet keys kept (§5.3): a message to an older one is refused as stale.</summary>
    internal const int MaxOwnKeys = 3;

    /// <summary>Message numbers one received message may skip (§5.4).</summary>
    internal const int MaxSkipPerMessage = 256;

    /// <summary>Skipped message keys kept in all (§5.4), the lowest numbers dropped first.</summary>
    internal const int MaxSkipped = 1000;

    private bool _disposed;

    private RatchetState()
    {
    }

    /// <summary>This side's ratchet keys, oldest first, at most <see cref="MaxOwnKeys"/>, ids consecutive.</summary>
    internal List<OwnKey> OwnKeys { get; } = [];

    internal OwnKey Newest => OwnKeys[^1];

    /// <summary>Whether a message sealed to <see cref="Newest"/> has opened: the next send creates a key (§5.3).</summary>
    internal bool PeerReachedNewest { get; set; }

    internal uint PeerKeyId { get; set; }

    internal byte[] PeerKey { get; } = new byte[Hpke.PublicKeyLength];

    internal byte[] SendChainKey { get; } = new byte[Chain.KeyLength];

    /// <summary>n of the next message this side seals.</summary>
    internal uint SendNext { get; set; }

    internal byte[] ReceiveChainKey { get; } = new byte[Chain.KeyLength];

    /// <summary>The next message number expected from the peer; <see cref="ReceiveChainKey"/> is its chain key.</summary>
    internal uint ReceiveNext { get; set; }

    /// <summary>Message keys of numbers below <see cref="ReceiveNext"/> not received yet.</summary>
    internal SortedList<uint, byte[]> Skipped { get; } = [];

    /// <summary>A state from the introduction's export (§5.2): the chains and each side's key 0.</summary>
    internal static RatchetState Create(OwnKey ownKey0, bool peerReachedNewest, ReadOnlySpan<byte> peerKey0, ReadOnlySpan<byte> sendChainKey, ReadOnlySpan<byte> receiveChainKey)
    {
        var state = new RatchetState { PeerReachedNewest = peerReachedNewest, PeerKeyId = 0 };
        state.OwnKeys.Add(ownKey0);
        peerKey0.CopyTo(state.PeerKey);
        sendChainKey.CopyTo(state.SendChainKey);
        receiveChainKey.CopyTo(state.ReceiveChainKey);
        return state;
    }

    /// <summary>Adds the next key pair and deletes (zeroes) those older than the newest three.</summary>
    internal void AddOwnKey(OwnKey key)
    {
        OwnKeys.Add(key);
        while (OwnKeys.Count > MaxOwnKeys)
        {
            OwnKeys[0].Dispose();
            OwnKeys.RemoveAt(0);
        }

        PeerReachedNewest = false;
    }

    /// <summary>The private key a message header names.</summary>
    /// <exception cref="EnvelopeException">UnknownKey (never created) or StaleKey (deleted).</exception>
    internal OwnKey FindOwnKey(uint id)
    {
        if (id > Newest.Id)
        {
            EnvelopeException.Throw(EnvelopeError.UnknownKey, $"Ratchet key {id} was never created here (newest is {Newest.Id}).");
        }

        if (id < OwnKeys[0].Id)
        {
            EnvelopeException.Throw(EnvelopeError.StaleKey, $"Ratchet key {id} was deleted (oldest kept is {OwnKeys[0].Id}).");
        }

        return OwnKeys[(int)(id - OwnKeys[0].Id)];
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var key in OwnKeys)
        {
            key.Dispose();
        }

        foreach (var messageKey in Skipped.Values)
        {
            CryptographicOperations.ZeroMemory(messageKey);
        }

        CryptographicOperations.ZeroMemory(SendChainKey);
        CryptographicOperations.ZeroMemory(ReceiveChainKey);
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>One of this side's X25519 ratchet key pairs.</summary>
    internal sealed class OwnKey : IDisposable
    {
        private OwnKey(uint id, byte[] privateKey)
        {
            Id = id;
            Private = privateKey;
        }

        public uint Id { get; }

        public byte[] Private { get; }

        public byte[] Public { get; } = new byte[Hpke.PublicKeyLength];

        /// <summary>The pair of <paramref name="privateKey"/>, or null if no usable public key comes of it.</summary>
        public static OwnKey? TryCreate(uint id, ReadOnlySpan<byte> privateKey)
        {
            var key = new OwnKey(id, privateKey.ToArray());
            if (Hpke.TryComputePublicKey(key.Private, key.Public))
            {
                return key;
            }

            key.Dispose();
            return null;
        }

        public void Dispose() => CryptographicOperations.ZeroMemory(Private);
    }
}
