using System.Buffers.Binary;
using EdgeRelay.Addressing;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>The envelope kinds of docs/RM-PROTOCOL.md §4 (its third byte).</summary>
public enum EnvelopeKind : byte
{
    /// <summary>Sealed once by the reader of an invitation to the inviter (§5.2).</summary>
    Introduction = 1,

    /// <summary>Any later command of a relationship (§5.4).</summary>
    Message = 2,
}

/// <summary>What an envelope's clear header says, read before any relationship is chosen.</summary>
/// <param name="InvitationId">16 bytes for an introduction; null for a message.</param>
/// <param name="RecipientKeyId">For a message: the receiver's ratchet key it is sealed to.</param>
/// <param name="MessageNumber">For a message: n, its number in the sender's chain.</param>
public readonly record struct EnvelopeHeader(EnvelopeKind Kind, byte[]? InvitationId, uint RecipientKeyId, uint MessageNumber);

/// <summary>
/// The envelope layout (docs/RM-PROTOCOL.md §4): version, suite, kind, the kind's header, HPKE enc
/// and ciphertext; always exactly one of <see cref="Sizes"/> bytes long, so that the relay learns
/// nothing from a length but its bucket.
/// </summary>
public static class Envelope
{
    public const byte Version = 1;

    public const byte Suite = 1;

    /// <summary>The largest envelope: the relay's largest ciphertext.</summary>
    public const int MaxLength = 16384;

    public const int InvitationIdLength = 16;

    internal const int IntroductionHeaderLength = 3 + InvitationIdLength;
    internal const int MessageHeaderLength = 3 + sizeof(uint) + sizeof(uint);
    internal const int SignatureLength = 64;

    // The inner plaintext's u32 body length before the body.
    internal const int BodyLengthPrefix = sizeof(uint);

    /// <summary>The four envelope lengths, smallest first.</summary>
    public static ReadOnlySpan<int> Sizes => [256, 1024, 4096, MaxLength];

    /// <summary>The longest body (encoded command) an envelope of <paramref name="kind"/> can carry.</summary>
    public static int MaxBodyLength(EnvelopeKind kind) => MaxLength - Overhead(HeaderLength(kind));

    /// <summary>
    /// Reads the clear header without any cryptography, so that a receiver can tell an introduction
    /// (and its invitation) from a message. False for anything <see cref="ReadHeader"/> refuses.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> envelope, out EnvelopeHeader header) =>
        TryReadHeader(envelope, out header, out _, out _);

    /// <exception cref="EnvelopeException">Malformed (shorter than its header), UnknownVersion,
    /// UnknownSuite, UnknownKind or WrongLength, checked in that order.</exception>
    public static EnvelopeHeader ReadHeader(ReadOnlySpan<byte> envelope)
    {
        if (!TryReadHeader(envelope, out var header, out var error, out var why))
        {
            EnvelopeException.Throw(error, why);
        }

        return header;
    }

    internal static int HeaderLength(EnvelopeKind kind) =>
        kind == EnvelopeKind.Introduction ? IntroductionHeaderLength : MessageHeaderLength;

    /// <summary>Bytes of an envelope besides the body: header, enc, tag, body length, signature.</summary>
    internal static int Overhead(int headerLength) =>
        headerLength + Hpke.EncapsulatedKeyLength + Hpke.TagLength + BodyLengthPrefix + SignatureLength;

    /// <summary>The smallest envelope length that holds <paramref name="bodyLength"/>, or 0 if none does.</summary>
    internal static int SizeFor(EnvelopeKind kind, int bodyLength)
    {
        var needed = Overhead(HeaderLength(kind)) + bodyLength;
        foreach (var size in Sizes)
        {
            if (needed <= size)
            {
                return size;
            }
        }

        return 0;
    }

    internal static bool IsSize(int length) => Sizes.Contains(length);

    private static bool TryReadHeader(ReadOnlySpan<byte> envelope, out EnvelopeHeader header, out EnvelopeError error, out string why)
    {
        header = default;
        (error, why) = (EnvelopeError.Malformed, "The envelope is shorter than its header.");
        if (envelope.Length < 3)
        {
            return false;
        }

        if (envelope[0] != Version)
        {
            (error, why) = (EnvelopeError.UnknownVersion, $"Envelope version {envelope[0]} is not known.");
            return false;
        }

        if (envelope[1] != Suite)
        {
            (error, why) = (EnvelopeError.UnknownSuite, $"Envelope suite {envelope[1]} is not known.");
            return false;
        }

        var kind = (EnvelopeKind)envelope[2];
        if (kind is not (EnvelopeKind.Introduction or EnvelopeKind.Message))
        {
            (error, why) = (EnvelopeError.UnknownKind, $"Envelope kind {envelope[2]} is not known.");
            return false;
        }

        if (envelope.Length < HeaderLength(kind))
        {
            return false;
        }

        if (!IsSize(envelope.Length))
        {
            (error, why) = (EnvelopeError.WrongLength, $"{envelope.Length} bytes is not an envelope length.");
            return false;
        }

        header = kind == EnvelopeKind.Introduction
            ? new EnvelopeHeader(kind, envelope.Slice(3, InvitationIdLength).ToArray(), 0, 0)
            : new EnvelopeHeader(kind, null, BinaryPrimitives.ReadUInt32BigEndian(envelope[3..]), BinaryPrimitives.ReadUInt32BigEndian(envelope[7..]));
        return true;
    }
}
