using System.Buffers.Binary;

namespace EdgeRelay.Protocol;

/// <summary>The fixed 10-byte header that starts every frame, all integers big-endian.</summary>
public readonly record struct FrameHeader(int BodyLength, FrameType Type, byte Flags, uint RequestId)
{
    public static FrameHeader Read(ReadOnlySpan<byte> source) => new(
        (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(source), int.MaxValue),
        (FrameType)source[4],
        source[5],
        BinaryPrimitives.ReadUInt32BigEndian(source[6..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)BodyLength);
        destination[4] = (byte)Type;
        destination[5] = Flags;
        BinaryPrimitives.WriteUInt32BigEndian(destination[6..], RequestId);
    }
}
