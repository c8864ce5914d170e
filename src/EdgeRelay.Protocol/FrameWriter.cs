using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Protocol;

/// <summary>
/// Writes whole frames into an <see cref="IBufferWriter{T}"/>. Frames with fixed or caller-owned bodies
/// (OK, SEND, PULL, ACK, ERROR…) are written without allocating.
/// </summary>
public static partial class FrameWriter
{
    public static void WriteEmpty(IBufferWriter<byte> output, FrameType type, uint requestId)
    {
        var span = output.GetSpan(ProtocolConstants.HeaderLength);
        new FrameHeader(0, type, 0, requestId).Write(span);
        output.Advance(ProtocolConstants.HeaderLength);
    }

    public static void WriteOk(IBufferWriter<byte> output, uint requestId) => WriteEmpty(output, FrameType.Ok, requestId);

    public static void WriteHello(IBufferWriter<byte> output, uint requestId, ushort minVersion = ProtocolConstants.Version, ushort maxVersion = ProtocolConstants.Version)
    {
        var span = Begin(output, FrameType.Hello, requestId, HelloRequest.Length);
        BinaryPrimitives.WriteUInt32BigEndian(span, ProtocolConstants.HelloMagic);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], minVersion);
        BinaryPrimitives.WriteUInt16BigEndian(span[6..], maxVersion);
        output.Advance(ProtocolConstants.HeaderLength + HelloRequest.Length);
    }

    public static void WriteServerInfo(IBufferWriter<byte> output, uint requestId, ServerInfo info)
    {
        var endpoint = Encoding.UTF8.GetBytes(info.Endpoint);
        if (endpoint.Length > byte.MaxValue)
        {
            throw new ArgumentException("The endpoint is longer than 255 bytes.", nameof(info));
        }

        if (info.TlsPin.Length is not (0 or ProtocolConstants.TlsPinLength))
        {
            throw new ArgumentException("A TLS pin is 32 bytes (SHA-256).", nameof(info));
        }

        if (info.AlternativeEndpoints.Count > ProtocolConstants.MaxAlternativeEndpoints)
        {
            throw new ArgumentException($"At most {ProtocolConstants.MaxAlternativeEndpoints} alternative endpoints.", nameof(info));
        }

        var alternatives = new byte[info.AlternativeEndpoints.Count][];
        int extensions = info.TlsPin.IsEmpty ? 0 : 2 + ProtocolConstants.TlsPinLength;
        for (var i = 0; i < alternatives.Length; i++)
        {
            alternatives[i] = Encoding.UTF8.GetBytes(info.AlternativeEndpoints[i]);
            if (alternatives[i].Length is 0 or > byte.MaxValue)
            {
                throw new ArgumentException("An alternative endpoint is 1 to 255 bytes.", nameof(info));
            }

            extensions += 2 + alternatives[i].Length;
        }

        int length = 2 + 4 + 4 + 4 + 2 + 4 + 4 + 4 + ProtocolConstants.PublicKeyLength + ProtocolConstants.NonceLength + 1 + endpoint.Length + extensions;
        var span = Begin(output, FrameType.HelloReply, requestId, length);
        BinaryPrimitives.WriteUInt16BigEndian(span, info.Version);
        BinaryPrimitives.WriteInt32BigEndian(span[2..], info.MaxCiphertext);
        BinaryPrimitives.WriteInt32BigEndian(span[6..], info.MaxRequestBody);
        BinaryPrimitives.WriteInt32BigEndian(span[10..], info.MaxReplyBody);
        BinaryPrimitives.WriteUInt16BigEndian(span[14..], (ushort)info.MaxPullCount);
        BinaryPrimitives.WriteInt32BigEndian(span[16..], info.MaxInFlight);
        BinaryPrimitives.WriteUInt32BigEndian(span[20..], info.DefaultAddressLifetimeSeconds);
        BinaryPrimitives.WriteUInt32BigEndian(span[24..], info.MaxAddressLifetimeSeconds);
        CopyExactly(info.ServicePublicKey.Span, span.Slice(28, ProtocolConstants.PublicKeyLength));
        CopyExactly(info.AuthNonce.Span, span.Slice(60, ProtocolConstants.NonceLength));
        span[92] = (byte)endpoint.Length;
        endpoint.CopyTo(span[93..]);
        var extension = span[(93 + endpoint.Length)..];
        if (!info.TlsPin.IsEmpty)
        {
            extension[0] = ProtocolConstants.TlsPinExtension;
            extension[1] = ProtocolConstants.TlsPinLength;
            info.TlsPin.Span.CopyTo(extension[2..]);
            extension = extension[(2 + ProtocolConstants.TlsPinLength)..];
        }

        // After the pin, in the operator's order, as the relay's cards carry them.
        foreach (var alternative in alternatives)
        {
            extension[0] = ProtocolConstants.AlternativeEndpointExtension;
            extension[1] = (byte)alternative.Length;
            alternative.CopyTo(extension[2..]);
            extension = extension[(2 + alternative.Length)..];
        }

        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    public static void WriteCreateAddress(IBufferWriter<byte> output, uint requestId, ReadOnlySpan<byte> ownerPublicKey, uint lifetimeSeconds)
    {
        var span = Begin(output, FrameType.CreateAddress, requestId, CreateAddressRequest.Length);
        CopyExactly(ownerPublicKey, span[..ProtocolConstants.PublicKeyLength]);
        BinaryPrimitives.WriteUInt32BigEndian(span[ProtocolConstants.PublicKeyLength..], lifetimeSeconds);
        output.Advance(ProtocolConstants.HeaderLength + CreateAddressRequest.Length);
    }

    public static void WriteAddressCreated(IBufferWriter<byte> output, uint requestId, long expiresAtUnixSeconds, ReadOnlySpan<byte> card)
    {
        if (card.Length > ushort.MaxValue)
        {
            throw new ArgumentException("An address card is at most 65535 bytes.", nameof(card));
        }

        var span = Begin(output, FrameType.AddressCreated, requestId, 10 + card.Length);
        BinaryPrimitives.WriteInt64BigEndian(span, expiresAtUnixSeconds);
        BinaryPrimitives.WriteUInt16BigEndian(span[8..], (ushort)card.Length);
        card.CopyTo(span[10..]);
        output.Advance(ProtocolConstants.HeaderLength + 10 + card.Length);
    }

    public static void WriteRevokeAddress(IBufferWriter<byte> output, uint requestId, AddressId address, ReadOnlySpan<byte> signature)
    {
        var span = Begin(output, FrameType.RevokeAddress, requestId, RevokeAddressRequest.Length);
        address.Write(span);
        CopyExactly(signature, span.Slice(ProtocolConstants.AddressIdLength, ProtocolConstants.SignatureLength));
        output.Advance(ProtocolConstants.HeaderLength + RevokeAddressRequest.Length);
    }

    public static void WriteSend(IBufferWriter<byte> output, uint requestId, ReadOnlySpan<byte> ephemeralAddress, ReadOnlySpan<byte> ciphertext)
    {
        CheckLength(ephemeralAddress, ProtocolConstants.EphemeralAddressLength, nameof(ephemeralAddress));
        int length = ProtocolConstants.EphemeralAddressLength + ciphertext.Length;
        var span = Begin(output, FrameType.Send, requestId, length);
        ephemeralAddress.CopyTo(span);
        ciphertext.CopyTo(span[ProtocolConstants.EphemeralAddressLength..]);
        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    public static void WriteAuth(IBufferWriter<byte> output, uint requestId, ReadOnlySpan<AuthClaim> claims)
    {
        if (claims.Length is 0 or > ProtocolLimits.MaxAuthClaims)
        {
            throw new ArgumentOutOfRangeException(nameof(claims), $"AUTH carries 1 to {ProtocolLimits.MaxAuthClaims} claims.");
        }

        int length = 2 + (claims.Length * AuthClaim.Length);
        var span = Begin(output, FrameType.Auth, requestId, length);
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)claims.Length);
        var rest = span[2..];
        foreach (var claim in claims)
        {
            claim.Address.Write(rest);
            CopyExactly(claim.Signature.Span, rest.Slice(ProtocolConstants.AddressIdLength, ProtocolConstants.SignatureLength));
            rest = rest[AuthClaim.Length..];
        }

        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    public static void WritePull(IBufferWriter<byte> output, uint requestId, AddressId address, ushort maxCount)
    {
        var span = Begin(output, FrameType.Pull, requestId, PullRequest.Length);
        address.Write(span);
        BinaryPrimitives.WriteUInt16BigEndian(span[ProtocolConstants.AddressIdLength..], maxCount);
        output.Advance(ProtocolConstants.HeaderLength + PullRequest.Length);
    }

    public static void WriteAck(IBufferWriter<byte> output, uint requestId, AddressId address, ReadOnlySpan<long> ids)
    {
        if (ids.Length is 0 or > ProtocolLimits.MaxAckIds)
        {
            throw new ArgumentOutOfRangeException(nameof(ids), $"ACK carries 1 to {ProtocolLimits.MaxAckIds} ids.");
        }

        int length = ProtocolConstants.AddressIdLength + 2 + (ids.Length * 8);
        var span = Begin(output, FrameType.Ack, requestId, length);
        address.Write(span);
        BinaryPrimitives.WriteUInt16BigEndian(span[ProtocolConstants.AddressIdLength..], (ushort)ids.Length);
        var rest = span[(ProtocolConstants.AddressIdLength + 2)..];
        foreach (var id in ids)
        {
            BinaryPrimitives.WriteInt64BigEndian(rest, id);
            rest = rest[8..];
        }

        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    /// <summary>SUBSCRIBE (with the initial credit) or CREDIT (credit to add): the same body.</summary>
    public static void WriteCredit(IBufferWriter<byte> output, FrameType type, uint requestId, AddressId address, uint credit)
    {
        if (type is not (FrameType.Subscribe or FrameType.Credit))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "SUBSCRIBE or CREDIT.");
        }

        var span = Begin(output, type, requestId, CreditRequest.Length);
        address.Write(span);
        BinaryPrimitives.WriteUInt32BigEndian(span[ProtocolConstants.AddressIdLength..], credit);
        output.Advance(ProtocolConstants.HeaderLength + CreditRequest.Length);
    }

    public static void WriteUnsubscribe(IBufferWriter<byte> output, uint requestId, AddressId address)
    {
        var span = Begin(output, FrameType.Unsubscribe, requestId, ProtocolConstants.AddressIdLength);
        address.Write(span);
        output.Advance(ProtocolConstants.HeaderLength + ProtocolConstants.AddressIdLength);
    }

    /// <summary>Writes the policy as given, valid or not (tests send invalid ones on purpose).</summary>
    public static void WriteSetPolicy(IBufferWriter<byte> output, uint requestId, AddressId address, DeliveryPolicy policy)
    {
        var span = Begin(output, FrameType.SetPolicy, requestId, SetPolicyRequest.Length);
        address.Write(span);
        span[ProtocolConstants.AddressIdLength] = (byte)policy.Kind;
        BinaryPrimitives.WriteUInt32BigEndian(span[(ProtocolConstants.AddressIdLength + 1)..], policy.WindowMilliseconds);
        output.Advance(ProtocolConstants.HeaderLength + SetPolicyRequest.Length);
    }

    public static void WriteSetNotify(IBufferWriter<byte> output, uint requestId, AddressId address, string? endpoint)
    {
        var bytes = endpoint is null ? [] : Encoding.UTF8.GetBytes(endpoint);
        if (bytes.Length > SetNotifyRequest.MaxEndpointBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(endpoint), $"An endpoint is at most {SetNotifyRequest.MaxEndpointBytes} UTF-8 bytes.");
        }

        int length = ProtocolConstants.AddressIdLength + 2 + bytes.Length;
        var span = Begin(output, FrameType.SetNotify, requestId, length);
        address.Write(span);
        BinaryPrimitives.WriteUInt16BigEndian(span[ProtocolConstants.AddressIdLength..], (ushort)bytes.Length);
        bytes.CopyTo(span[(ProtocolConstants.AddressIdLength + 2)..]);
        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    public static void WriteRenewAddress(IBufferWriter<byte> output, uint requestId, AddressId address, uint lifetimeSeconds)
    {
        var span = Begin(output, FrameType.RenewAddress, requestId, RenewAddressRequest.Length);
        address.Write(span);
        BinaryPrimitives.WriteUInt32BigEndian(span[ProtocolConstants.AddressIdLength..], lifetimeSeconds);
        output.Advance(ProtocolConstants.HeaderLength + RenewAddressRequest.Length);
    }

    /// <summary>AUTH_TOKEN: the token's length (u8) and its ASCII bytes, written as given (tests send bad ones on purpose).</summary>
    public static void WriteAuthToken(IBufferWriter<byte> output, uint requestId, ReadOnlySpan<byte> token)
    {
        if (token.Length > AuthTokenRequest.MaxTokenBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(token), $"A token is at most {AuthTokenRequest.MaxTokenBytes} bytes.");
        }

        var span = Begin(output, FrameType.AuthToken, requestId, 1 + token.Length);
        span[0] = (byte)token.Length;
        token.CopyTo(span[1..]);
        output.Advance(ProtocolConstants.HeaderLength + 1 + token.Length);
    }

    /// <summary>Body length of a DELIVER push of ciphertexts with these lengths: aid, count, then messages as in MESSAGES.</summary>
    public static int DeliverBodyLength(int messageCount, long ciphertextBytes) =>
        checked((int)(ProtocolConstants.AddressIdLength + 2 + ((long)messageCount * DeliveredMessage.HeaderLength) + ciphertextBytes));

    /// <summary>
    /// Writes a DELIVER header and its address and count into <paramref name="destination"/>; returns the bytes written.
    /// The messages follow, each laid out by <see cref="WriteDeliveredMessageHeader"/> then its ciphertext.
    /// </summary>
    public static int WriteDeliverHeader(Span<byte> destination, int bodyLength, AddressId address, int count)
    {
        new FrameHeader(bodyLength, FrameType.Deliver, 0, 0).Write(destination);
        address.Write(destination[ProtocolConstants.HeaderLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(ProtocolConstants.HeaderLength + ProtocolConstants.AddressIdLength)..], (ushort)count);
        return ProtocolConstants.HeaderLength + ProtocolConstants.AddressIdLength + 2;
    }

    /// <summary>Writes one delivered message's 20-byte header (id, received at, length); its ciphertext follows.</summary>
    public static void WriteDeliveredMessageHeader(Span<byte> destination, long id, long receivedAtUnixMs, int length)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, id);
        BinaryPrimitives.WriteInt64BigEndian(destination[8..], receivedAtUnixMs);
        BinaryPrimitives.WriteInt32BigEndian(destination[16..], length);
    }

    /// <summary>The body length of a MESSAGES reply holding ciphertexts of these lengths.</summary>
    public static int MessagesBodyLength(ReadOnlySpan<int> ciphertextLengths)
    {
        int length = 3;
        foreach (var l in ciphertextLengths)
        {
            length += DeliveredMessage.HeaderLength + l;
        }

        return length;
    }

    /// <summary>Starts a MESSAGES reply; the caller then writes each message with <see cref="WriteDeliveredMessage"/>.</summary>
    public static void WriteMessagesHeader(IBufferWriter<byte> output, uint requestId, int bodyLength, int count, bool more)
    {
        WriteMessagesHeader(output.GetSpan(ProtocolConstants.HeaderLength + 3), requestId, bodyLength, count, more);
        output.Advance(ProtocolConstants.HeaderLength + 3);
    }

    /// <summary>The same, into the first <see cref="ProtocolConstants.HeaderLength"/> + 3 bytes of a frame the caller fills in place.</summary>
    public static void WriteMessagesHeader(Span<byte> destination, uint requestId, int bodyLength, int count, bool more)
    {
        new FrameHeader(bodyLength, FrameType.Messages, 0, requestId).Write(destination);
        destination[ProtocolConstants.HeaderLength] = more ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[(ProtocolConstants.HeaderLength + 1)..], (ushort)count);
    }

    public static void WriteDeliveredMessage(IBufferWriter<byte> output, long id, long receivedAtUnixMs, ReadOnlySpan<byte> ciphertext)
    {
        var span = output.GetSpan(DeliveredMessage.HeaderLength + ciphertext.Length);
        BinaryPrimitives.WriteInt64BigEndian(span, id);
        BinaryPrimitives.WriteInt64BigEndian(span[8..], receivedAtUnixMs);
        BinaryPrimitives.WriteInt32BigEndian(span[16..], ciphertext.Length);
        ciphertext.CopyTo(span[DeliveredMessage.HeaderLength..]);
        output.Advance(DeliveredMessage.HeaderLength + ciphertext.Length);
    }

    public static void WriteError(IBufferWriter<byte> output, uint requestId, ErrorCode code, string reason)
    {
        int reasonBytes = Math.Min(Encoding.UTF8.GetByteCount(reason), ErrorReply.MaxReasonBytes);
        var span = Begin(output, FrameType.Error, requestId, 3 + reasonBytes);
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)code);
        span[2] = (byte)reasonBytes;
        if (reasonBytes == Encoding.UTF8.GetByteCount(reason))
        {
            Encoding.UTF8.GetBytes(reason, span[3..]);
        }
        else
        {
            // Truncating UTF-8 may split a character: cut on an ASCII-safe boundary instead of emitting garbage.
            var full = Encoding.UTF8.GetBytes(reason);
            int cut = reasonBytes;
            while (cut > 0 && (full[cut] & 0xC0) == 0x80)
            {
                cut--;
            }

            full.AsSpan(0, cut).CopyTo(span[3..]);
            span.Slice(3 + cut, reasonBytes - cut).Fill((byte)' ');
        }

        output.Advance(ProtocolConstants.HeaderLength + 3 + reasonBytes);
    }

    /// <summary>Reserves header + body, writes the header, and returns the body span (not yet advanced).</summary>
    private static Span<byte> Begin(IBufferWriter<byte> output, FrameType type, uint requestId, int bodyLength)
    {
        var span = output.GetSpan(ProtocolConstants.HeaderLength + bodyLength);
        new FrameHeader(bodyLength, type, 0, requestId).Write(span);
        return span.Slice(ProtocolConstants.HeaderLength, bodyLength);
    }

    private static void CopyExactly(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        CheckLength(source, destination.Length, nameof(source));
        source.CopyTo(destination);
    }

    private static void CheckLength(ReadOnlySpan<byte> value, int expected, string name)
    {
        if (value.Length != expected)
        {
            throw new ArgumentException($"Expected {expected} bytes, got {value.Length}.", name);
        }
    }
}
