using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EdgeRelay.Protocol;

/// <summary>The sending service's bodies (docs/PROTOCOL.md 4.13, 4.14, 4.17): SEND_VIA, SEND_VIA_MODE, SEND_STATUS, and the send-state replies.</summary>
public static partial class BodyReader
{
    /// <summary>
    /// SEND_VIA: <c>endpoint_len</c> u8 | endpoint | <c>pin_len</c> u8 | pin | ephemeral address (73) | ciphertext.
    /// Out of range (INVALID_ARGUMENT): an endpoint of length 0 or not "host:port" with a port 1..65535, a
    /// <c>pin_len</c> other than 0 or 32, an empty ciphertext. Malformed: a body too short for the lengths it
    /// declares, an endpoint that is not UTF-8.
    /// </summary>
    public static BodyStatus ReadSendVia(in ReadOnlySequence<byte> body, out SendViaRequest request)
    {
        request = null!;
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryRead(out var endpointLength))
        {
            return BodyStatus.Malformed;
        }

        if (endpointLength == 0)
        {
            return BodyStatus.OutOfRange;
        }

        if (reader.Remaining < endpointLength + 1)
        {
            return BodyStatus.Malformed;
        }

        string endpoint;
        try
        {
            endpoint = StrictUtf8.GetString(reader.UnreadSequence.Slice(0, endpointLength));
        }
        catch (DecoderFallbackException)
        {
            return BodyStatus.Malformed;
        }

        reader.Advance(endpointLength);
        reader.TryRead(out var pinLength);
        if (pinLength is not (0 or ProtocolConstants.TlsPinLength))
        {
            return BodyStatus.OutOfRange;
        }

        if (reader.Remaining < pinLength + ProtocolConstants.EphemeralAddressLength)
        {
            return BodyStatus.Malformed;
        }

        var pin = ReadBytes(ref reader, pinLength);
        var ephemeral = ReadBytes(ref reader, ProtocolConstants.EphemeralAddressLength);
        if (reader.Remaining == 0 || !IsHostAndPort(endpoint))
        {
            return BodyStatus.OutOfRange;
        }

        request = new SendViaRequest(endpoint, pin, ephemeral, reader.UnreadSequence.ToArray());
        return BodyStatus.Ok;
    }

    /// <summary>
    /// SEND_VIA_MODE: <c>mode</c> u8 then exactly a SEND_VIA body, refused as <see cref="ReadSendVia"/> refuses it
    /// (an empty body, with no mode, is malformed). Any mode value parses: whether the relay offers it is not a
    /// question of layout (MODE_UNAVAILABLE, not MALFORMED_FRAME).
    /// </summary>
    public static BodyStatus ReadSendViaMode(in ReadOnlySequence<byte> body, out SendingMode mode, out SendViaRequest request)
    {
        request = null!;
        mode = default;
        if (body.IsEmpty)
        {
            return BodyStatus.Malformed;
        }

        // The first segment of a sequence may be empty (only FrameReader's slices never are): read the byte, not FirstSpan[0].
        var reader = new SequenceReader<byte>(body);
        reader.TryRead(out byte rawMode);
        mode = (SendingMode)rawMode;
        return ReadSendVia(body.Slice(1), out request);
    }

    /// <summary>SEND_STATUS: <c>count</c> u16 (1..256) then that many send ids (u64). A count out of range is <see cref="BodyStatus.OutOfRange"/>; a length that disagrees, malformed.</summary>
    public static BodyStatus ReadSendStatus(in ReadOnlySequence<byte> body, out long[] sendIds)
    {
        sendIds = [];
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryReadBigEndian(out short rawCount))
        {
            return BodyStatus.Malformed;
        }

        int count = (ushort)rawCount;
        if (count is 0 or > SendStatusRequest.MaxIds)
        {
            return BodyStatus.OutOfRange;
        }

        if (body.Length != 2 + (count * 8L))
        {
            return BodyStatus.Malformed;
        }

        sendIds = new long[count];
        for (var i = 0; i < count; i++)
        {
            reader.TryReadBigEndian(out long id);
            sendIds[i] = id;
        }

        return BodyStatus.Ok;
    }

    /// <summary>SEND_QUEUED or a SEND_STATE push: exactly one 11-byte entry.</summary>
    public static bool TryReadSendState(in ReadOnlySequence<byte> body, out SendStateEntry entry)
    {
        entry = default;
        if (body.Length != SendStateEntry.Length)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[SendStateEntry.Length];
        body.CopyTo(bytes);
        entry = ReadEntry(bytes);
        return true;
    }

    /// <summary>SEND_STATES: <c>count</c> u16, then that many 11-byte entries, nothing after.</summary>
    public static bool TryReadSendStates(in ReadOnlySequence<byte> body, out SendStateEntry[] entries)
    {
        entries = [];
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryReadBigEndian(out short rawCount) || body.Length != 2 + ((ushort)rawCount * (long)SendStateEntry.Length))
        {
            return false;
        }

        var result = new SendStateEntry[(ushort)rawCount];
        Span<byte> bytes = stackalloc byte[SendStateEntry.Length];
        for (var i = 0; i < result.Length; i++)
        {
            reader.TryCopyTo(bytes);
            reader.Advance(SendStateEntry.Length);
            result[i] = ReadEntry(bytes);
        }

        entries = result;
        return true;
    }

    /// <summary>"host:port" as cards carry it: a host (an IPv6 literal in brackets), a colon, a port 1..65535.</summary>
    public static bool IsHostAndPort(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !ushort.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
        {
            return false;
        }

        var host = endpoint.AsSpan(0, colon);
        if (host.Contains(':'))
        {
            return host.Length > 2 && host[0] == '[' && host[^1] == ']';
        }

        foreach (var c in host)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '/' or '[' or ']' or '@')
            {
                return false;
            }
        }

        return true;
    }

    private static SendStateEntry ReadEntry(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadInt64BigEndian(bytes), bytes[8], BinaryPrimitives.ReadUInt16BigEndian(bytes[9..]));
}
