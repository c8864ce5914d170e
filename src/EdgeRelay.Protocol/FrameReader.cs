using System.Buffers;

namespace EdgeRelay.Protocol;

public enum FrameParseStatus
{
    /// <summary>A whole frame was read; <c>buffer</c> was advanced past it.</summary>
    Complete,

    /// <summary>More bytes are needed; nothing was consumed.</summary>
    Incomplete,

    /// <summary>The length prefix is over the limit. Decided from the header alone: the body is never awaited.</summary>
    TooLarge,

    /// <summary>Reserved flag bits were set: the peer speaks something else, the stream cannot be trusted.</summary>
    InvalidHeader,
}

/// <summary>Splits a byte stream into frames. A pure function: no I/O, no allocation.</summary>
public static class FrameReader
{
    /// <summary>
    /// Tries to read one frame from the front of <paramref name="buffer"/>.
    /// </summary>
    /// <param name="buffer">The unread input. On <see cref="FrameParseStatus.Complete"/> it is sliced past the frame.</param>
    /// <param name="maxBodyLength">The largest body accepted; a bigger length prefix is refused before the body arrives.</param>
    /// <param name="header">The header, valid for every status but <see cref="FrameParseStatus.Incomplete"/>.</param>
    /// <param name="body">The body, a slice of the input that is only valid until the pipe is advanced.</param>
    public static FrameParseStatus TryRead(ref ReadOnlySequence<byte> buffer, int maxBodyLength, out FrameHeader header, out ReadOnlySequence<byte> body)
    {
        body = default;
        if (buffer.Length < ProtocolConstants.HeaderLength)
        {
            header = default;
            return FrameParseStatus.Incomplete;
        }

        Span<byte> headerBytes = stackalloc byte[ProtocolConstants.HeaderLength];
        var first = buffer.FirstSpan;
        if (first.Length >= ProtocolConstants.HeaderLength)
        {
            header = FrameHeader.Read(first);
        }
        else
        {
            buffer.Slice(0, ProtocolConstants.HeaderLength).CopyTo(headerBytes);
            header = FrameHeader.Read(headerBytes);
        }

        if (header.Flags != 0)
        {
            return FrameParseStatus.InvalidHeader;
        }

        if (header.BodyLength > maxBodyLength)
        {
            return FrameParseStatus.TooLarge;
        }

        long frameLength = ProtocolConstants.HeaderLength + (long)header.BodyLength;
        if (buffer.Length < frameLength)
        {
            return FrameParseStatus.Incomplete;
        }

        body = buffer.Slice(ProtocolConstants.HeaderLength, header.BodyLength);
        buffer = buffer.Slice(frameLength);
        return FrameParseStatus.Complete;
    }
}
