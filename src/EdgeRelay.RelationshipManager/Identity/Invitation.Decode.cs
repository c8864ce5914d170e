using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;
using EdgeRelay.Addressing;

namespace EdgeRelay.RelationshipManager.Identity;

// Strict decoding (§3.3): invitations come from strangers, so every length is checked before it is used, the
// checks run in the specified order (so that two implementations give the same error for the same bytes), and
// nothing the signature does not cover is accepted.
public sealed partial class Invitation
{
    /// <summary>The longest text that can hold an invitation: longer input is refused before it is decoded.</summary>
    public static readonly int MaxTextLength = TextPrefix.Length + Base64Url.GetEncodedLength(MaxEncodedLength);

    /// <summary>Reads the text form and checks it entirely, expiry at <paramref name="now"/> included.</summary>
    /// <exception cref="InvitationException">Any refusal of §3.3; <see cref="InvitationException.Error"/> says which.</exception>
    public static Invitation Parse(string text, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.StartsWith(TextPrefix, StringComparison.Ordinal))
        {
            throw Refuse(InvitationError.Malformed, $"An invitation starts with \"{TextPrefix}\".");
        }

        if (text.Length > MaxTextLength)
        {
            throw Refuse(InvitationError.Malformed, $"The text is longer than any invitation ({MaxTextLength} characters).");
        }

        var payload = text.AsSpan(TextPrefix.Length);
        if (payload.Contains('='))
        {
            throw Refuse(InvitationError.Malformed, "The base64url payload must not be padded.");
        }

        var buffer = new byte[Base64Url.GetMaxDecodedLength(payload.Length)];
        if (Base64Url.DecodeFromChars(payload, buffer, out _, out var written) != OperationStatus.Done)
        {
            throw Refuse(InvitationError.Malformed, "The payload is not base64url.");
        }

        // One invitation, one text: the decoder tolerates whitespace and non-zero spare bits; the format does not.
        if (!Base64Url.EncodeToString(buffer.AsSpan(0, written)).AsSpan().SequenceEqual(payload))
        {
            throw Refuse(InvitationError.Malformed, "The base64url payload is not in canonical form.");
        }

        return Decode(buffer.AsSpan(0, written), now);
    }

    /// <summary>Reads the binary form and checks it entirely, expiry at <paramref name="now"/> included.</summary>
    /// <exception cref="InvitationException">Any refusal of §3.3.</exception>
    public static Invitation Decode(ReadOnlySpan<byte> bytes, DateTimeOffset now)
    {
        var invitation = DecodeIgnoringExpiry(bytes);
        if (invitation.IsExpiredAt(now))
        {
            throw Refuse(InvitationError.Expired, $"The invitation expired at {invitation.ExpiresAt:u}.");
        }

        return invitation;
    }

    /// <summary>
    /// Every check but expiry: how the inviter reloads its own invitation with its sealed secrets, and how it still
    /// recognises (to refuse it as expired) an introduction that arrives late.
    /// </summary>
    internal static Invitation DecodeIgnoringExpiry(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            throw Refuse(InvitationError.Malformed, "Empty input.");
        }

        if (bytes[0] != Version)
        {
            throw Refuse(InvitationError.UnknownVersion, $"Invitation version {bytes[0]} is not supported (expected {Version}).");
        }

        if (bytes.Length < 2)
        {
            throw Refuse(InvitationError.Malformed, "Truncated before the suite.");
        }

        if (bytes[1] != Suite)
        {
            throw Refuse(InvitationError.UnknownSuite, $"Suite {bytes[1]} is not supported (expected {Suite}).");
        }

        if (bytes.Length < NameOffset)
        {
            throw Refuse(InvitationError.Malformed, $"Truncated: {bytes.Length} bytes, the part before the name alone is {NameOffset}.");
        }

        int nameLength = bytes[NameLengthOffset];
        if (nameLength > MaxNameLength)
        {
            throw Refuse(InvitationError.NameTooLong, $"The name is {nameLength} bytes; at most {MaxNameLength}.");
        }

        var cardLengthOffset = NameOffset + nameLength;
        if (bytes.Length < cardLengthOffset + sizeof(ushort))
        {
            throw Refuse(InvitationError.Malformed, "Truncated in the name or the card's length.");
        }

        int cardLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[cardLengthOffset..]);
        if (cardLength is 0 or > AddressCard.MaxEncodedLength)
        {
            throw Refuse(InvitationError.BadCard, $"The card is {cardLength} bytes; a card is 1 to {AddressCard.MaxEncodedLength}.");
        }

        var cardOffset = cardLengthOffset + sizeof(ushort);
        var signatureOffset = cardOffset + cardLength;
        var end = signatureOffset + IdentityKeyPair.SignatureLength;
        if (bytes.Length < end)
        {
            throw Refuse(InvitationError.Malformed, "Truncated in the card or the signature.");
        }

        if (bytes.Length > end)
        {
            throw Refuse(InvitationError.TrailingBytes, $"{bytes.Length - end} bytes follow the signature.");
        }

        // The signature before anything is interpreted: a forged or altered invitation is reported as such, not
        // as whatever its altered field happens to break.
        if (!IdentityKeyPair.Verify(bytes.Slice(SigningKeyOffset, 32), SignedBytes(bytes[..signatureOffset]), bytes[signatureOffset..]))
        {
            throw Refuse(InvitationError.BadSignature, "The inviter's signature does not verify.");
        }

        var expires = BinaryPrimitives.ReadUInt64BigEndian(bytes[ExpiresOffset..]);
        if (expires > MaxExpiresAt)
        {
            throw Refuse(InvitationError.Malformed, "The expiry is past the year 9999.");
        }

        string name;
        try
        {
            name = StrictUtf8.GetString(bytes.Slice(NameOffset, nameLength));
        }
        catch (DecoderFallbackException)
        {
            throw Refuse(InvitationError.BadName, "The name is not valid UTF-8.");
        }

        if (CheckName(name, out _) is { } nameError)
        {
            throw Refuse(nameError.Code, nameError.Message);
        }

        if (!AddressCard.TryDecode(bytes.Slice(cardOffset, cardLength), out var card, out var cardError))
        {
            throw Refuse(InvitationError.BadCard, "The address card is invalid: " + cardError);
        }

        var inviter = new PublicIdentity(bytes.Slice(SigningKeyOffset, 32), bytes.Slice(AgreementKeyOffset, 32));
        return new Invitation(bytes.ToArray(), inviter, name, card);
    }

    private static InvitationException Refuse(InvitationError error, string message) => new(error, message);
}
