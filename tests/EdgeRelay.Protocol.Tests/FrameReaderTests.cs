using System.Buffers;
using System.Buffers.Binary;

namespace EdgeRelay.Protocol.Tests;

public class FrameReaderTests
{
    private static byte[] Frame(FrameType type, uint requestId, byte[] body)
    {
        var writer = new ArrayBufferWriter<byte>();
        var span = writer.GetSpan(ProtocolConstants.HeaderLength + body.Length);
        new FrameHeader(body.Length, type, 0, requestId).Write(span);
        body.CopyTo(span[ProtocolConstants.HeaderLength..]);
        writer.Advance(ProtocolConstants.HeaderLength + body.Length);
        return writer.WrittenSpan.ToArray();
    }

    [Fact]
    public void Header_is_big_endian_length_type_flags_request_id()
    {
        var bytes = Frame(FrameType.Send, 0x01020304, new byte[5]);
        Assert.Equal(new byte[] { 0, 0, 0, 5, 0x04, 0, 1, 2, 3, 4 }, bytes[..10]);
    }

    [Fact]
    public void Reads_one_frame_and_slices_past_it()
    {
        var body = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        var buffer = new ReadOnlySequence<byte>(Frame(FrameType.Pull, 7, body).Concat(new byte[] { 0xAA }).ToArray());

        var status = FrameReader.TryRead(ref buffer, 1000, out var header, out var parsed);

        Assert.Equal(FrameParseStatus.Complete, status);
        Assert.Equal(FrameType.Pull, header.Type);
        Assert.Equal(7u, header.RequestId);
        Assert.Equal(body, parsed.ToArray());
        Assert.Equal(1, buffer.Length); // the byte after the frame is left for the next call
    }

    [Fact]
    public void Every_split_point_of_a_frame_parses_the_same()
    {
        var body = Enumerable.Range(0, 40).Select(i => (byte)(i * 7)).ToArray();
        var bytes = Frame(FrameType.Ack, 99, body);
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            var buffer = Segments.Split(bytes, cut);
            Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, 1000, out var header, out var parsed));
            Assert.Equal(99u, header.RequestId);
            Assert.Equal(body, parsed.ToArray());
            Assert.True(buffer.IsEmpty);
        }
    }

    [Fact]
    public void One_byte_segments_parse_two_frames_back_to_back()
    {
        var a = Frame(FrameType.Send, 1, [1, 2, 3]);
        var b = Frame(FrameType.Ping, 2, []);
        var buffer = Segments.Bytewise(a.Concat(b).ToArray());

        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, 100, out var first, out var firstBody));
        Assert.Equal(new byte[] { 1, 2, 3 }, firstBody.ToArray());
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, 100, out var second, out var secondBody));
        Assert.Equal(FrameType.Send, first.Type);
        Assert.Equal(FrameType.Ping, second.Type);
        Assert.True(secondBody.IsEmpty);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void A_partial_header_is_incomplete_and_consumes_nothing()
    {
        var bytes = Frame(FrameType.Send, 1, new byte[10]);
        var buffer = Segments.Split(bytes[..9], 4);
        Assert.Equal(FrameParseStatus.Incomplete, FrameReader.TryRead(ref buffer, 100, out _, out _));
        Assert.Equal(9, buffer.Length);
    }

    [Fact]
    public void A_partial_body_is_incomplete_and_consumes_nothing()
    {
        var bytes = Frame(FrameType.Send, 1, new byte[10]);
        var buffer = Segments.Split(bytes[..15], 12);
        Assert.Equal(FrameParseStatus.Incomplete, FrameReader.TryRead(ref buffer, 100, out _, out _));
        Assert.Equal(15, buffer.Length);
    }

    [Fact]
    public void An_oversize_length_is_refused_from_the_header_alone()
    {
        // Only the header has arrived: the answer must not be "incomplete, send the 4 GB body".
        var header = new byte[ProtocolConstants.HeaderLength];
        new FrameHeader(int.MaxValue, FrameType.Send, 0, 5).Write(header);
        BinaryPrimitives.WriteUInt32BigEndian(header, uint.MaxValue);
        var buffer = Segments.Split(header, 3, 7);

        Assert.Equal(FrameParseStatus.TooLarge, FrameReader.TryRead(ref buffer, 1024, out var parsed, out _));
        Assert.Equal(5u, parsed.RequestId);
    }

    [Fact]
    public void A_length_exactly_at_the_limit_is_accepted()
    {
        var buffer = new ReadOnlySequence<byte>(Frame(FrameType.Send, 1, new byte[64]));
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, 64, out _, out _));
        buffer = new ReadOnlySequence<byte>(Frame(FrameType.Send, 1, new byte[65]));
        Assert.Equal(FrameParseStatus.TooLarge, FrameReader.TryRead(ref buffer, 64, out _, out _));
    }

    [Fact]
    public void Reserved_flags_make_the_header_invalid()
    {
        var bytes = Frame(FrameType.Ping, 1, []);
        bytes[5] = 0x80;
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(FrameParseStatus.InvalidHeader, FrameReader.TryRead(ref buffer, 64, out _, out _));
    }
}
