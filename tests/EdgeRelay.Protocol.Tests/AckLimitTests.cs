using System.Buffers;
using System.Buffers.Binary;

namespace EdgeRelay.Protocol.Tests;

/// <summary>
/// The id count of an ACK: 1 to <see cref="ProtocolLimits.MaxAckIds"/>. Exactly the maximum is a valid ACK (a
/// client acknowledging a full PULL in one frame); one more, or none, is refused by the reader and never written.
/// </summary>
public class AckLimitTests
{
    private static readonly AddressId Aid = AddressId.NewRandom();

    [Fact]
    public void An_ACK_of_exactly_the_maximum_number_of_ids_is_written_and_read_back_whole()
    {
        var ids = Enumerable.Range(1, ProtocolLimits.MaxAckIds).Select(i => (long)i * 31).ToArray();
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteAck(writer, 1, Aid, ids);
        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, int.MaxValue, out _, out var body));

        Assert.True(BodyReader.TryReadAck(body, out var aid, out var parsed));
        Assert.Equal(Aid, aid);
        Assert.Equal(ids, parsed);
    }

    [Fact]
    public void An_ACK_read_into_a_buffer_fills_only_its_count_and_leaves_the_rest()
    {
        long[] ids = [7, 3, 7];
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteAck(writer, 1, Aid, ids);
        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, int.MaxValue, out _, out var body));
        var destination = Enumerable.Repeat(-1L, ProtocolLimits.MaxAckIds).ToArray();

        Assert.Equal(BodyStatus.Ok, BodyReader.ReadAck(body, out var aid, destination, out var count));

        Assert.Equal(Aid, aid);
        Assert.Equal(ids, destination[..count]);
        Assert.Equal(-1L, destination[count]);
        Assert.Throws<ArgumentException>(() => BodyReader.ReadAck(body, out _, new long[2], out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(ProtocolLimits.MaxAckIds + 1)]
    public void An_ACK_body_counting_no_ids_or_one_past_the_maximum_is_refused(int count)
    {
        // Built by hand, consistent with its own count: only the count itself is wrong.
        var body = new byte[ProtocolConstants.AddressIdLength + 2 + (count * 8)];
        Aid.Write(body);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(ProtocolConstants.AddressIdLength), (ushort)count);

        Assert.False(BodyReader.TryReadAck(new ReadOnlySequence<byte>(body), out _, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(ProtocolLimits.MaxAckIds + 1)]
    public void The_writer_refuses_an_ACK_the_relay_would_refuse(int count)
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameWriter.WriteAck(writer, 1, Aid, new long[count]));
        Assert.Equal(0, writer.WrittenCount);
    }
}
