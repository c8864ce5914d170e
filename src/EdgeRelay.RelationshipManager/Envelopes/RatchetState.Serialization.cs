using System.Buffers.Binary;
using System.Security.Cryptography;
using EdgeRelay.Addressing;

namespace EdgeRelay.RelationshipManager.Envelopes;

// The stored form, integers big-endian:
//   u8 format (1) | u8 k (1..3) | k × (u32 id, private key 32), ids consecutive ascending |
//   u8 flags (bit 0: peer reached the newest key; other bits 0) | u32 peer key id | peer key 32 |
//   send chain key 32 | u32 send next | receive chain key 32 | u32 receive next |
//   u16 s (0..1000) | s × (u32 n, message key 32), n strictly ascending and below receive next.
// Public keys are not stored: they are recomputed, so they cannot disagree with the private ones.
public sealed partial class RatchetState
{
    internal const byte FormatVersion = 1;

    private const int OwnKeyLength = sizeof(uint) + Hpke.PrivateKeyLength;
    private const int SkippedLength = sizeof(uint) + Chain.KeyLength;
    private const int FixedLength = 1 + 1 + 1 + sizeof(uint) + Hpke.PublicKeyLength
        + Chain.KeyLength + sizeof(uint) + Chain.KeyLength + sizeof(uint) + sizeof(ushort);

    /// <summary>The state as bytes for storage (secret: seal them; zero the array after use).</summary>
    internal byte[] ToBytes()
    {
        ThrowIfDisposed();
        var bytes = new byte[FixedLength + (OwnKeys.Count * OwnKeyLength) + (Skipped.Count * SkippedLength)];
        var w = bytes.AsSpan();
        w[0] = FormatVersion;
        w[1] = (byte)OwnKeys.Count;
        w = w[2..];
        foreach (var key in OwnKeys)
        {
            BinaryPrimitives.WriteUInt32BigEndian(w, key.Id);
            key.Private.CopyTo(w[sizeof(uint)..]);
            w = w[OwnKeyLength..];
        }

        w[0] = PeerReachedNewest ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(w[1..], PeerKeyId);
        w = w[5..];
        PeerKey.CopyTo(w);
        SendChainKey.CopyTo(w[32..]);
        BinaryPrimitives.WriteUInt32BigEndian(w[64..], SendNext);
        ReceiveChainKey.CopyTo(w[68..]);
        BinaryPrimitives.WriteUInt32BigEndian(w[100..], ReceiveNext);
        BinaryPrimitives.WriteUInt16BigEndian(w[104..], (ushort)Skipped.Count);
        w = w[106..];
        foreach (var (n, messageKey) in Skipped)
        {
            BinaryPrimitives.WriteUInt32BigEndian(w, n);
            messageKey.CopyTo(w[sizeof(uint)..]);
            w = w[SkippedLength..];
        }

        return bytes;
    }

    /// <summary>Restores a state written by <see cref="ToBytes"/>.</summary>
    /// <exception cref="EnvelopeException">BadState: another format, a wrong length or an inconsistent field.</exception>
    internal static RatchetState FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 2 || bytes[0] != FormatVersion)
        {
            Bad("not a ratchet state of format 1.");
        }

        int k = bytes[1];
        if (k is < 1 or > MaxOwnKeys || bytes.Length < FixedLength + (k * OwnKeyLength))
        {
            Bad("a wrong number of ratchet keys or a truncated state.");
        }

        var state = new RatchetState();
        try
        {
            var r = bytes[2..];
            for (var i = 0; i < k; i++)
            {
                var id = BinaryPrimitives.ReadUInt32BigEndian(r);
                if (i > 0 && id != state.Newest.Id + 1)
                {
                    Bad("ratchet key ids that are not consecutive.");
                }

                state.OwnKeys.Add(OwnKey.TryCreate(id, r.Slice(sizeof(uint), Hpke.PrivateKeyLength)) ?? Bad<OwnKey>("an unusable ratchet private key."));
                r = r[OwnKeyLength..];
            }

            if (r[0] > 1)
            {
                Bad("unknown flags.");
            }

            state.PeerReachedNewest = r[0] == 1;
            state.PeerKeyId = BinaryPrimitives.ReadUInt32BigEndian(r[1..]);
            r = r[5..];
            r[..32].CopyTo(state.PeerKey);
            r.Slice(32, 32).CopyTo(state.SendChainKey);
            state.SendNext = BinaryPrimitives.ReadUInt32BigEndian(r[64..]);
            r.Slice(68, 32).CopyTo(state.ReceiveChainKey);
            state.ReceiveNext = BinaryPrimitives.ReadUInt32BigEndian(r[100..]);
            int s = BinaryPrimitives.ReadUInt16BigEndian(r[104..]);
            r = r[106..];
            if (s > MaxSkipped || r.Length != s * SkippedLength)
            {
                Bad("a wrong number of skipped keys or a wrong length.");
            }

            for (var i = 0; i < s; i++)
            {
                var n = BinaryPrimitives.ReadUInt32BigEndian(r);
                if (n >= state.ReceiveNext || (i > 0 && n <= state.Skipped.Keys[^1]))
                {
                    Bad("skipped message numbers out of order or not below the next expected.");
                }

                state.Skipped.Add(n, r.Slice(sizeof(uint), Chain.KeyLength).ToArray());
                r = r[SkippedLength..];
            }

            return state;
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    private static void Bad(string why) => Bad<int>(why);

    private static T Bad<T>(string why) => throw new EnvelopeException(EnvelopeError.BadState, "The ratchet state does not parse: " + why);
}
