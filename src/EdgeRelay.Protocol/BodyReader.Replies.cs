using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Protocol;

/// <summary>The server's frames (replies and pushes), read by clients: DELIVER, ERROR, HELLO_REPLY, ADDRESS_CREATED, MESSAGES.</summary>
public static partial class BodyReader
{
    /// <summary>A DELIVER push: the address and its messages.</summary>
    public static bool TryReadDeliver(in ReadOnlySequence<byte> body, out AddressId address, out DeliveredMessage[] messages)
    {
        address = default;
        messages = [];
        var reader = new SequenceReader<byte>(body);
        if (body.Length < ProtocolConstants.AddressIdLength + 2)
        {
            return false;
        }

        address = ReadAddressId(ref reader);
        reader.TryReadBigEndian(out short rawCount);
        int count = (ushort)rawCount;
        return TryReadMessageList(ref reader, count, out messages);
    }

    public static bool TryReadError(in ReadOnlySequence<byte> body, out ErrorReply error)
    {
        error = default;
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryReadBigEndian(out short code) || !reader.TryRead(out byte reasonLength) || reader.Remaining != reasonLength)
        {
            return false;
        }

        // Strict, like every other UTF-8 field: a reason that is not UTF-8 is a malformed reply, not text to repair.
        if (!TryReadStrictUtf8(reader.UnreadSequence, out var reason))
        {
            return false;
        }

        error = new ErrorReply((ErrorCode)(ushort)code, reason);
        return true;
    }

    public static bool TryReadServerInfo(in ReadOnlySequence<byte> body, out ServerInfo info)
    {
        info = null!;
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryReadBigEndian(out short version)
            || !reader.TryReadBigEndian(out int maxCiphertext)
            || !reader.TryReadBigEndian(out int maxRequestBody)
            || !reader.TryReadBigEndian(out int maxReplyBody)
            || !reader.TryReadBigEndian(out short maxPull)
            || !reader.TryReadBigEndian(out int maxInFlight)
            || !reader.TryReadBigEndian(out int defaultLifetime)
            || !reader.TryReadBigEndian(out int maxLifetime)
            || reader.Remaining < ProtocolConstants.PublicKeyLength + ProtocolConstants.NonceLength + 1)
        {
            return false;
        }

        var serviceKey = ReadBytes(ref reader, ProtocolConstants.PublicKeyLength);
        var nonce = ReadBytes(ref reader, ProtocolConstants.NonceLength);
        reader.TryRead(out byte endpointLength);
        if (reader.Remaining < endpointLength)
        {
            return false;
        }

        if (!TryReadStrictUtf8(reader.UnreadSequence.Slice(0, endpointLength), out var endpoint))
        {
            return false;
        }

        reader.Advance(endpointLength);

        // Extensions follow, type u8 | length u8 | value, as in address cards; unknown types are skipped.
        byte[] tlsPin = [];
        List<string>? alternatives = null;
        while (reader.Remaining > 0)
        {
            if (!reader.TryRead(out byte type) || !reader.TryRead(out byte length) || reader.Remaining < length)
            {
                return false;
            }

            var value = ReadBytes(ref reader, length);
            if (type == ProtocolConstants.TlsPinExtension)
            {
                if (length != ProtocolConstants.TlsPinLength)
                {
                    return false;
                }

                tlsPin = value;
            }
            else if (type == ProtocolConstants.AlternativeEndpointExtension)
            {
                // Held to the card's rules (6.1): a relay that announces what its cards may not carry is refused.
                alternatives ??= [];
                if (length == 0 || alternatives.Count == ProtocolConstants.MaxAlternativeEndpoints
                    || !TryReadStrictUtf8(new ReadOnlySequence<byte>(value), out var alternative))
                {
                    return false;
                }

                alternatives.Add(alternative);
            }
        }

        info = new ServerInfo
        {
            Version = (ushort)version,
            MaxCiphertext = maxCiphertext,
            MaxRequestBody = maxRequestBody,
            MaxReplyBody = maxReplyBody,
            MaxPullCount = (ushort)maxPull,
            MaxInFlight = maxInFlight,
            DefaultAddressLifetimeSeconds = (uint)defaultLifetime,
            MaxAddressLifetimeSeconds = (uint)maxLifetime,
            ServicePublicKey = serviceKey,
            AuthNonce = nonce,
            Endpoint = endpoint,
            TlsPin = tlsPin,
            AlternativeEndpoints = alternatives is null ? [] : alternatives,
        };
        return true;
    }

    public static bool TryReadAddressCreated(in ReadOnlySequence<byte> body, out AddressCreatedReply reply)
    {
        reply = default;
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryReadBigEndian(out long expires) || !reader.TryReadBigEndian(out short cardLength) || reader.Remaining != (ushort)cardLength)
        {
            return false;
        }

        reply = new AddressCreatedReply(expires, reader.UnreadSequence.ToArray());
        return true;
    }

    public static bool TryReadMessages(in ReadOnlySequence<byte> body, out DeliveredMessage[] messages, out bool more)
    {
        messages = [];
        more = false;
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryRead(out byte flags) || !reader.TryReadBigEndian(out short rawCount))
        {
            return false;
        }

        more = (flags & 1) != 0;
        int count = (ushort)rawCount;
        return TryReadMessageList(ref reader, count, out messages);
    }

    /// <summary>The message list shared by MESSAGES and DELIVER: <paramref name="count"/> × (id, received at, length, ciphertext), to the end of the body.</summary>
    private static bool TryReadMessageList(ref SequenceReader<byte> reader, int count, out DeliveredMessage[] messages)
    {
        messages = [];
        var result = new DeliveredMessage[count];
        for (int i = 0; i < count; i++)
        {
            if (!reader.TryReadBigEndian(out long id) || !reader.TryReadBigEndian(out long receivedAt)
                || !reader.TryReadBigEndian(out int length) || length < 0 || reader.Remaining < length)
            {
                return false;
            }

            result[i] = new DeliveredMessage(id, receivedAt, ReadBytes(ref reader, length));
        }

        if (reader.Remaining != 0)
        {
            return false;
        }

        messages = result;
        return true;
    }
}
