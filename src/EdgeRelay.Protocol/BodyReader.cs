using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Protocol;

/// <summary>
/// Parses request and reply bodies. Every method is total: it returns false for a body that is short,
/// long, or out of range, and never throws on input (bad input is normal for a server). The request
/// parsers whose fields have ranges also come as <c>Read*</c>, returning a <see cref="BodyStatus"/> that
/// tells a wrong layout (MALFORMED_FRAME) from a field out of its range (INVALID_ARGUMENT).
/// </summary>
public static partial class BodyReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Decodes UTF-8 or refuses: a field that is not UTF-8 makes its body malformed rather than text with replacement characters.</summary>
    private static bool TryReadStrictUtf8(in ReadOnlySequence<byte> bytes, out string text)
    {
        try
        {
            text = StrictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = string.Empty;
            return false;
        }
    }

    public static bool TryReadHello(in ReadOnlySequence<byte> body, out HelloRequest hello)
    {
        hello = default;
        var reader = new SequenceReader<byte>(body);
        if (body.Length != HelloRequest.Length
            || !reader.TryReadBigEndian(out int magic)
            || !reader.TryReadBigEndian(out short min)
            || !reader.TryReadBigEndian(out short max))
        {
            return false;
        }

        hello = new HelloRequest((uint)magic, (ushort)min, (ushort)max);
        return true;
    }

    public static bool TryReadCreateAddress(in ReadOnlySequence<byte> body, out CreateAddressRequest request)
    {
        request = default;
        if (body.Length != CreateAddressRequest.Length)
        {
            return false;
        }

        var key = new byte[ProtocolConstants.PublicKeyLength];
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryCopyTo(key))
        {
            return false;
        }

        reader.Advance(key.Length);
        if (!reader.TryReadBigEndian(out int lifetime))
        {
            return false;
        }

        request = new CreateAddressRequest(key, (uint)lifetime);
        return true;
    }

    public static bool TryReadRevokeAddress(in ReadOnlySequence<byte> body, out RevokeAddressRequest request)
    {
        request = default;
        if (body.Length != RevokeAddressRequest.Length)
        {
            return false;
        }

        var reader = new SequenceReader<byte>(body);
        request = new RevokeAddressRequest(ReadAddressId(ref reader), ReadBytes(ref reader, ProtocolConstants.SignatureLength));
        return true;
    }

    /// <summary>Splits a SEND body into its ephemeral address (copied into <paramref name="ephemeralAddress"/>) and the ciphertext slice.</summary>
    public static bool TryReadSend(in ReadOnlySequence<byte> body, Span<byte> ephemeralAddress, out ReadOnlySequence<byte> ciphertext)
    {
        ciphertext = default;
        if (body.Length < ProtocolConstants.EphemeralAddressLength || ephemeralAddress.Length < ProtocolConstants.EphemeralAddressLength)
        {
            return false;
        }

        body.Slice(0, ProtocolConstants.EphemeralAddressLength).CopyTo(ephemeralAddress);
        ciphertext = body.Slice(ProtocolConstants.EphemeralAddressLength);
        return true;
    }

    public static bool TryReadAuth(in ReadOnlySequence<byte> body, out AuthClaim[] claims) => ReadAuth(body, out claims) == BodyStatus.Ok;

    /// <summary>AUTH: a count outside 1..256 is <see cref="BodyStatus.OutOfRange"/>; a length that does not match the count is malformed.</summary>
    public static BodyStatus ReadAuth(in ReadOnlySequence<byte> body, out AuthClaim[] claims)
    {
        claims = [];
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryReadBigEndian(out short rawCount))
        {
            return BodyStatus.Malformed;
        }

        int count = (ushort)rawCount;
        if (count == 0 || count > ProtocolLimits.MaxAuthClaims)
        {
            return BodyStatus.OutOfRange;
        }

        if (body.Length != 2 + ((long)count * AuthClaim.Length))
        {
            return BodyStatus.Malformed;
        }

        claims = new AuthClaim[count];
        for (int i = 0; i < count; i++)
        {
            claims[i] = new AuthClaim(ReadAddressId(ref reader), ReadBytes(ref reader, ProtocolConstants.SignatureLength));
        }

        return BodyStatus.Ok;
    }

    /// <summary>
    /// AUTH_TOKEN: <c>token_len</c> (u8, 1..<see cref="AuthTokenRequest.MaxTokenBytes"/>) then the token. A zero
    /// length is <see cref="BodyStatus.OutOfRange"/>; a length that disagrees with the body, or a byte outside
    /// printable ASCII, is malformed. The token is returned as a slice of the body: it is hashed, never kept.
    /// </summary>
    public static BodyStatus ReadAuthToken(in ReadOnlySequence<byte> body, Span<byte> destination, out int length)
    {
        length = 0;
        if (body.IsEmpty)
        {
            return BodyStatus.Malformed;
        }

        var reader = new SequenceReader<byte>(body);
        reader.TryRead(out var declared);
        if (declared == 0)
        {
            return BodyStatus.OutOfRange;
        }

        if (body.Length != 1 + declared || destination.Length < declared)
        {
            return BodyStatus.Malformed;
        }

        var token = destination[..declared];
        reader.TryCopyTo(token);
        foreach (var b in token)
        {
            if (b is < 0x21 or > 0x7E)
            {
                return BodyStatus.Malformed;
            }
        }

        length = declared;
        return BodyStatus.Ok;
    }

    public static bool TryReadPull(in ReadOnlySequence<byte> body, out PullRequest request) => ReadPull(body, out request) == BodyStatus.Ok;

    /// <summary>PULL: a body of another length is malformed; a <c>max_count</c> outside 1..1024 is <see cref="BodyStatus.OutOfRange"/>.</summary>
    public static BodyStatus ReadPull(in ReadOnlySequence<byte> body, out PullRequest request)
    {
        request = default;
        if (body.Length != PullRequest.Length)
        {
            return BodyStatus.Malformed;
        }

        var reader = new SequenceReader<byte>(body);
        var aid = ReadAddressId(ref reader);
        reader.TryReadBigEndian(out short max);
        if ((ushort)max == 0 || (ushort)max > ProtocolLimits.MaxPullCount)
        {
            return BodyStatus.OutOfRange;
        }

        request = new PullRequest(aid, (ushort)max);
        return BodyStatus.Ok;
    }

    public static bool TryReadAck(in ReadOnlySequence<byte> body, out AddressId address, out long[] ids) => ReadAck(body, out address, out ids) == BodyStatus.Ok;

    /// <summary>ACK: a count outside 1..1024 is <see cref="BodyStatus.OutOfRange"/>; a length that does not match the count is malformed.</summary>
    public static BodyStatus ReadAck(in ReadOnlySequence<byte> body, out AddressId address, out long[] ids)
    {
        var ack = new long[ProtocolLimits.MaxAckIds];
        var status = ReadAck(body, out address, ack, out var count);
        ids = status == BodyStatus.Ok ? ack[..count] : [];
        return status;
    }

    /// <summary>
    /// <see cref="ReadAck(in ReadOnlySequence{byte}, out AddressId, out long[])"/> into <paramref name="ids"/>
    /// (room for <see cref="ProtocolLimits.MaxAckIds"/>), so the ACK path allocates nothing.
    /// </summary>
    public static BodyStatus ReadAck(in ReadOnlySequence<byte> body, out AddressId address, Span<long> ids, out int count)
    {
        address = default;
        count = 0;
        var reader = new SequenceReader<byte>(body);
        if (body.Length < ProtocolConstants.AddressIdLength + 2)
        {
            return BodyStatus.Malformed;
        }

        var aid = ReadAddressId(ref reader);
        reader.TryReadBigEndian(out short rawCount);
        int n = (ushort)rawCount;
        if (n == 0 || n > ProtocolLimits.MaxAckIds)
        {
            return BodyStatus.OutOfRange;
        }

        if (body.Length != ProtocolConstants.AddressIdLength + 2 + (n * 8L))
        {
            return BodyStatus.Malformed;
        }

        if (ids.Length < n)
        {
            throw new ArgumentException($"The destination holds {ids.Length} ids; the ACK has {n}.", nameof(ids));
        }

        address = aid;
        for (int i = 0; i < n; i++)
        {
            reader.TryReadBigEndian(out long id);
            ids[i] = id;
        }

        count = n;
        return BodyStatus.Ok;
    }

    /// <summary>SUBSCRIBE or CREDIT.</summary>
    public static bool TryReadCredit(in ReadOnlySequence<byte> body, out CreditRequest request)
    {
        request = default;
        if (body.Length != CreditRequest.Length)
        {
            return false;
        }

        var reader = new SequenceReader<byte>(body);
        var aid = ReadAddressId(ref reader);
        reader.TryReadBigEndian(out int credit);
        request = new CreditRequest(aid, (uint)credit);
        return true;
    }

    public static bool TryReadAddressOnly(in ReadOnlySequence<byte> body, out AddressId address)
    {
        address = default;
        if (body.Length != ProtocolConstants.AddressIdLength)
        {
            return false;
        }

        var reader = new SequenceReader<byte>(body);
        address = ReadAddressId(ref reader);
        return true;
    }

    public static bool TryReadSetPolicy(in ReadOnlySequence<byte> body, out SetPolicyRequest request)
    {
        request = default;
        if (body.Length != SetPolicyRequest.Length)
        {
            return false;
        }

        var reader = new SequenceReader<byte>(body);
        var aid = ReadAddressId(ref reader);
        reader.TryRead(out byte kind);
        reader.TryReadBigEndian(out int window);

        // Any kind byte decodes; the relay refuses one that is not valid (DeliveryPolicy.IsValid) with its own code.
        request = new SetPolicyRequest(aid, new DeliveryPolicy((DeliveryPolicyKind)kind, (uint)window));
        return true;
    }

    /// <summary>SET_NOTIFY; false also when the endpoint is not valid UTF-8 or over the limit.</summary>
    public static bool TryReadSetNotify(in ReadOnlySequence<byte> body, out SetNotifyRequest request) => ReadSetNotify(body, out request) == BodyStatus.Ok;

    /// <summary>SET_NOTIFY: a <c>len</c> over 2048 is <see cref="BodyStatus.OutOfRange"/>; a body of another length than <c>len</c> says, or bytes that are not UTF-8, are malformed.</summary>
    public static BodyStatus ReadSetNotify(in ReadOnlySequence<byte> body, out SetNotifyRequest request)
    {
        request = default;
        var reader = new SequenceReader<byte>(body);
        if (body.Length < ProtocolConstants.AddressIdLength + 2)
        {
            return BodyStatus.Malformed;
        }

        var aid = ReadAddressId(ref reader);
        reader.TryReadBigEndian(out short rawLength);
        int length = (ushort)rawLength;
        if (length > SetNotifyRequest.MaxEndpointBytes)
        {
            return BodyStatus.OutOfRange;
        }

        if (reader.Remaining != length)
        {
            return BodyStatus.Malformed;
        }

        var bytes = ReadBytes(ref reader, length);
        try
        {
            request = new SetNotifyRequest(aid, StrictUtf8.GetString(bytes));
        }
        catch (DecoderFallbackException)
        {
            return BodyStatus.Malformed;
        }

        return BodyStatus.Ok;
    }

    public static bool TryReadRenewAddress(in ReadOnlySequence<byte> body, out RenewAddressRequest request)
    {
        request = default;
        if (body.Length != RenewAddressRequest.Length)
        {
            return false;
        }

        var reader = new SequenceReader<byte>(body);
        var aid = ReadAddressId(ref reader);
        reader.TryReadBigEndian(out int lifetime);
        request = new RenewAddressRequest(aid, (uint)lifetime);
        return true;
    }

    private static AddressId ReadAddressId(ref SequenceReader<byte> reader)
    {
        Span<byte> bytes = stackalloc byte[ProtocolConstants.AddressIdLength];
        reader.TryCopyTo(bytes);
        reader.Advance(bytes.Length);
        return new AddressId(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }

    private static byte[] ReadBytes(ref SequenceReader<byte> reader, int count)
    {
        var bytes = new byte[count];
        reader.TryCopyTo(bytes);
        reader.Advance(count);
        return bytes;
    }
}
