using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeRelay.Protocol.Tests.Properties;

/// <summary>The frame header and the splitting of a byte stream into frames, over generated frames and cuts.</summary>
[Properties(MaxTest = 300)]
public class FramePropertyTests
{
    private const int MaxBody = 512;

    private static readonly Gen<FrameHeader> Headers =
        from length in Gen.Frequency((3, Gens.Int32.Select(v => v & int.MaxValue)), (1, Gen.Elements(0, int.MaxValue)))
        from type in Gens.Byte
        from flags in Gens.Byte
        from requestId in Gens.UInt32
        select new FrameHeader(length, (FrameType)type, flags, requestId);

    private static readonly Gen<(FrameType Type, uint RequestId, byte[] Body)> Frames =
        from type in Gens.Byte
        from requestId in Gens.UInt32
        from body in Gens.BytesOf(0, 64)
        select ((FrameType)type, requestId, body);

    private static readonly Gen<(FrameType Type, uint RequestId, byte[] Body)[]> Streams = Gens.ArrayOf(Frames, 1, 6);

    [Property]
    public Property A_header_reads_back_as_written() =>
        Prop.ForAll(Headers.ToArbitrary(), header =>
        {
            var bytes = new byte[ProtocolConstants.HeaderLength];
            header.Write(bytes);
            Assert.Equal(header, FrameHeader.Read(bytes));
        });

    [Property]
    public Property Any_ten_bytes_are_a_header_that_writes_back_the_same_unless_the_length_is_over_int_max()
        => Prop.ForAll(Gens.BytesOf(ProtocolConstants.HeaderLength).ToArbitrary(), bytes =>
        {
            var header = FrameHeader.Read(bytes);
            var written = new byte[ProtocolConstants.HeaderLength];
            header.Write(written);
            if (bytes[0] < 0x80)
            {
                Assert.Equal(bytes, written);
            }
            else
            {
                // A length of 2^31 or more is clamped, not wrapped negative: the reader then refuses it as too large.
                Assert.Equal(int.MaxValue, header.BodyLength);
                Assert.Equal(bytes[4..], written[4..]);
            }
        });

    [Property]
    public Property Frames_back_to_back_parse_the_same_however_the_stream_is_cut() =>
        Prop.ForAll(Gen.Zip(Streams, Gens.Cuts).ToArbitrary(), input =>
        {
            var (frames, cuts) = input;
            var buffer = Gens.Split(Concatenate(frames), cuts);
            foreach (var (type, requestId, body) in frames)
            {
                Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, MaxBody, out var header, out var parsed));
                Assert.Equal(new FrameHeader(body.Length, type, 0, requestId), header);
                Assert.Equal(body, parsed.ToArray());
            }

            Assert.True(buffer.IsEmpty);
            Assert.Equal(FrameParseStatus.Incomplete, FrameReader.TryRead(ref buffer, MaxBody, out _, out _));
        });

    [Property]
    public Property A_stream_cut_short_yields_its_whole_frames_then_incomplete_without_consuming_the_rest() =>
        Prop.ForAll((from frames in Streams from end in Gen.Choose(0, int.MaxValue) from cuts in Gens.Cuts select (frames, end, cuts)).ToArbitrary(), input =>
        {
            var (frames, end, cuts) = input;
            var stream = Concatenate(frames);
            var truncated = stream[..(end % stream.Length)];
            var buffer = Gens.Split(truncated, cuts);
            var consumed = 0;
            foreach (var (_, _, body) in frames)
            {
                if (consumed + ProtocolConstants.HeaderLength + body.Length > truncated.Length)
                {
                    break;
                }

                Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, MaxBody, out _, out var parsed));
                Assert.Equal(body, parsed.ToArray());
                consumed += ProtocolConstants.HeaderLength + body.Length;
            }

            var rest = buffer;
            Assert.Equal(FrameParseStatus.Incomplete, FrameReader.TryRead(ref buffer, MaxBody, out _, out _));
            Assert.Equal(truncated[consumed..], buffer.ToArray());
            Assert.Equal(rest.Start, buffer.Start);
        });

    [Property]
    public Property Any_bytes_give_a_status_that_agrees_with_the_header_and_consume_exactly_one_frame_or_nothing() =>
        Prop.ForAll((from bytes in Gen.OneOf(Gens.AnyBytes, Streams.Select(Concatenate).SelectMany(Gens.Mutated)) from max in Gen.Choose(0, 300) from cuts in Gens.Cuts select (bytes, max, cuts)).ToArbitrary(), input =>
        {
            var (bytes, max, cuts) = input;
            var buffer = Gens.Split(bytes, cuts);
            var status = FrameReader.TryRead(ref buffer, max, out var header, out var body);
            var expected = bytes.Length < ProtocolConstants.HeaderLength ? FrameParseStatus.Incomplete
                : header.Flags != 0 ? FrameParseStatus.InvalidHeader
                : header.BodyLength > max ? FrameParseStatus.TooLarge
                : bytes.Length < ProtocolConstants.HeaderLength + header.BodyLength ? FrameParseStatus.Incomplete
                : FrameParseStatus.Complete;
            Assert.Equal(expected, status);
            if (status == FrameParseStatus.Complete)
            {
                Assert.Equal(FrameHeader.Read(bytes), header);
                var end = ProtocolConstants.HeaderLength + header.BodyLength;
                Assert.Equal(bytes[ProtocolConstants.HeaderLength..end], body.ToArray());
                Assert.Equal(bytes[end..], buffer.ToArray());
            }
            else
            {
                Assert.Equal(bytes, buffer.ToArray());
            }
        });

    private static byte[] Concatenate((FrameType Type, uint RequestId, byte[] Body)[] frames)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var (type, requestId, body) in frames)
        {
            var span = output.GetSpan(ProtocolConstants.HeaderLength + body.Length);
            new FrameHeader(body.Length, type, 0, requestId).Write(span);
            body.CopyTo(span[ProtocolConstants.HeaderLength..]);
            output.Advance(ProtocolConstants.HeaderLength + body.Length);
        }

        return output.WrittenSpan.ToArray();
    }
}
