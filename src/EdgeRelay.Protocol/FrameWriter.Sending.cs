using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Protocol;

/// <summary>The sending service's frames (docs/PROTOCOL.md 4.13, 4.14, 4.17).</summary>
public static partial class FrameWriter
{
    /// <summary>SEND_VIA, written as given (lengths are checked, the endpoint's form is not: tests send bad ones on purpose).</summary>
    public static void WriteSendVia(IBufferWriter<byte> output, uint requestId, string endpoint, ReadOnlySpan<byte> pin, ReadOnlySpan<byte> ephemeralAddress, ReadOnlySpan<byte> ciphertext) =>
        WriteSendVia(output, FrameType.SendVia, requestId, null, endpoint, pin, ephemeralAddress, ciphertext);

    /// <summary>SEND_VIA_MODE: <paramref name="mode"/> (written as given, an unknown one too), then a SEND_VIA body as <see cref="WriteSendVia(IBufferWriter{byte}, uint, string, ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> writes it.</summary>
    public static void WriteSendViaMode(IBufferWriter<byte> output, uint requestId, SendingMode mode, string endpoint, ReadOnlySpan<byte> pin, ReadOnlySpan<byte> ephemeralAddress, ReadOnlySpan<byte> ciphertext) =>
        WriteSendVia(output, FrameType.SendViaMode, requestId, (byte)mode, endpoint, pin, ephemeralAddress, ciphertext);

    private static void WriteSendVia(IBufferWriter<byte> output, FrameType type, uint requestId, byte? mode, string endpoint, ReadOnlySpan<byte> pin, ReadOnlySpan<byte> ephemeralAddress, ReadOnlySpan<byte> ciphertext)
    {
        var endpointBytes = Encoding.UTF8.GetBytes(endpoint);
        if (endpointBytes.Length > SendViaRequest.MaxEndpointBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(endpoint), $"An endpoint is at most {SendViaRequest.MaxEndpointBytes} UTF-8 bytes.");
        }

        if (pin.Length > byte.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(pin), "A pin's length is one byte.");
        }

        CheckLength(ephemeralAddress, ProtocolConstants.EphemeralAddressLength, nameof(ephemeralAddress));
        var prefix = mode is null ? 0 : 1;
        var length = prefix + 1 + endpointBytes.Length + 1 + pin.Length + ephemeralAddress.Length + ciphertext.Length;
        var frame = Begin(output, type, requestId, length);
        if (mode is { } value)
        {
            frame[0] = value;
        }

        var span = frame[prefix..];
        span[0] = (byte)endpointBytes.Length;
        endpointBytes.CopyTo(span[1..]);
        var at = 1 + endpointBytes.Length;
        span[at] = (byte)pin.Length;
        pin.CopyTo(span[(at + 1)..]);
        at += 1 + pin.Length;
        ephemeralAddress.CopyTo(span[at..]);
        ciphertext.CopyTo(span[(at + ephemeralAddress.Length)..]);
        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    /// <summary>SEND_STATUS: 1 to 256 send ids.</summary>
    public static void WriteSendStatus(IBufferWriter<byte> output, uint requestId, ReadOnlySpan<long> sendIds)
    {
        if (sendIds.Length is 0 or > SendStatusRequest.MaxIds)
        {
            throw new ArgumentOutOfRangeException(nameof(sendIds), $"SEND_STATUS carries 1 to {SendStatusRequest.MaxIds} ids.");
        }

        var length = 2 + (8 * sendIds.Length);
        var span = Begin(output, FrameType.SendStatus, requestId, length);
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)sendIds.Length);
        for (var i = 0; i < sendIds.Length; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(span[(2 + (8 * i))..], sendIds[i]);
        }

        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    /// <summary>SEND_QUEUED (the reply to SEND_VIA) or a SEND_STATE push (request id 0): one entry.</summary>
    public static void WriteSendState(IBufferWriter<byte> output, FrameType type, uint requestId, SendStateEntry entry)
    {
        if (type is not (FrameType.SendQueued or FrameType.SendState))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "SEND_QUEUED or SEND_STATE.");
        }

        var span = Begin(output, type, requestId, SendStateEntry.Length);
        WriteEntry(span, entry);
        output.Advance(ProtocolConstants.HeaderLength + SendStateEntry.Length);
    }

    /// <summary>SEND_STATES: the entries, in the order the request named their ids.</summary>
    public static void WriteSendStates(IBufferWriter<byte> output, uint requestId, ReadOnlySpan<SendStateEntry> entries)
    {
        var length = 2 + (SendStateEntry.Length * entries.Length);
        var span = Begin(output, FrameType.SendStates, requestId, length);
        BinaryPrimitives.WriteUInt16BigEndian(span, checked((ushort)entries.Length));
        for (var i = 0; i < entries.Length; i++)
        {
            WriteEntry(span[(2 + (SendStateEntry.Length * i))..], entries[i]);
        }

        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    private static void WriteEntry(Span<byte> span, SendStateEntry entry)
    {
        BinaryPrimitives.WriteInt64BigEndian(span, entry.SendId);
        span[8] = entry.State;
        BinaryPrimitives.WriteUInt16BigEndian(span[9..], entry.Code);
    }
}
