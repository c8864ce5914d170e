using System.Buffers;
using System.Text;

namespace EdgeRelay.Protocol.Tests;

/// <summary>The upload frames of PROTOCOL.md 4.15: each parses back whole and split into one-byte segments, and each bad layout is refused.</summary>
public sealed class UploadFrameTests
{
    private static readonly UploadId Upload = new(0x0102030405060708, 0x1112131415161718);
    private static readonly byte[] Digest = Enumerable.Range(0, 32).Select(i => (byte)(0xA0 + i)).ToArray();

    public static TheoryData<bool> Layouts => new(false, true);

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Upload_begin_roundtrips(bool bytewise)
    {
        var (header, body) = Roundtrip(w => FrameWriter.WriteUploadBegin(w, 5, 100UL << 20, Digest), bytewise);

        Assert.Equal(FrameType.UploadBegin, header.Type);
        Assert.Equal(40, body.Length);
        Assert.Equal(BodyStatus.Ok, BodyReader.ReadUploadBegin(body, out var request));
        Assert.Equal(100UL << 20, request.Size);
        Assert.Equal(Digest, request.Sha256.ToArray());
    }

    [Fact]
    public void Upload_begin_bytes_are_size_then_digest()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteUploadBegin(writer, 5, 0x0102, Digest);

        Assert.Equal("00000028" + "13" + "00" + "00000005" + "0000000000000102" + Convert.ToHexString(Digest), Convert.ToHexString(writer.WrittenSpan));
    }

    [Theory]
    [InlineData(39, BodyStatus.Malformed)]
    [InlineData(41, BodyStatus.Malformed)]
    [InlineData(0, BodyStatus.Malformed)]
    public void Upload_begin_of_another_length_is_malformed(int length, BodyStatus expected) =>
        Assert.Equal(expected, BodyReader.ReadUploadBegin(new ReadOnlySequence<byte>(new byte[length]), out _));

    [Fact]
    public void Upload_begin_of_size_zero_is_out_of_range() =>
        Assert.Equal(BodyStatus.OutOfRange, BodyReader.ReadUploadBegin(new ReadOnlySequence<byte>(new byte[40]), out _));

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Upload_started_roundtrips(bool bytewise)
    {
        var reply = new UploadStartedReply(Upload, 21482, 1_800_000_000);
        var (header, body) = Roundtrip(w => FrameWriter.WriteUploadStarted(w, 5, reply), bytewise);

        Assert.Equal(FrameType.UploadStarted, header.Type);
        Assert.True(BodyReader.TryReadUploadStarted(body, out var parsed));
        Assert.Equal(reply, parsed);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Upload_chunk_roundtrips_with_its_data_as_a_slice(bool bytewise)
    {
        var data = Encoding.ASCII.GetBytes("ciphertext bytes");
        var (header, body) = Roundtrip(w => FrameWriter.WriteUploadChunk(w, 5, Upload, 1UL << 40, data), bytewise);

        Assert.Equal(FrameType.UploadChunk, header.Type);
        Assert.Equal(BodyStatus.Ok, BodyReader.ReadUploadChunk(body, out var upload, out var offset, out var parsed));
        Assert.Equal(Upload, upload);
        Assert.Equal(1UL << 40, offset);
        Assert.Equal(data, parsed.ToArray());
    }

    [Fact]
    public void Upload_chunk_shorter_than_its_header_is_malformed_and_without_data_out_of_range()
    {
        Assert.Equal(BodyStatus.Malformed, BodyReader.ReadUploadChunk(new ReadOnlySequence<byte>(new byte[23]), out _, out _, out _));
        Assert.Equal(BodyStatus.OutOfRange, BodyReader.ReadUploadChunk(new ReadOnlySequence<byte>(new byte[24]), out _, out _, out _));
    }

    [Theory]
    [InlineData(FrameType.UploadResume, false)]
    [InlineData(FrameType.UploadCommit, true)]
    public void Upload_resume_and_commit_carry_the_id_alone(FrameType type, bool bytewise)
    {
        var (header, body) = Roundtrip(w => FrameWriter.WriteUploadId(w, type, 5, Upload), bytewise);

        Assert.Equal(type, header.Type);
        Assert.True(BodyReader.TryReadUploadId(body, out var upload));
        Assert.Equal(Upload, upload);
        Assert.False(BodyReader.TryReadUploadId(new ReadOnlySequence<byte>(new byte[17]), out _));
        Assert.False(BodyReader.TryReadUploadId(new ReadOnlySequence<byte>(new byte[15]), out _));
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Upload_progress_roundtrips(bool bytewise)
    {
        var reply = new UploadProgressReply(Upload, 4096, 10_000, 1_800_000_000);
        var (header, body) = Roundtrip(w => FrameWriter.WriteUploadProgress(w, 5, reply), bytewise);

        Assert.Equal(FrameType.UploadProgress, header.Type);
        Assert.True(BodyReader.TryReadUploadProgress(body, out var parsed));
        Assert.Equal(reply, parsed);
    }

    [Fact]
    public void Upload_progress_with_more_received_than_declared_does_not_parse()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteUploadProgress(writer, 5, new UploadProgressReply(Upload, 11, 10, 0));

        Assert.False(BodyReader.TryReadUploadProgress(new ReadOnlySequence<byte>(writer.WrittenMemory[ProtocolConstants.HeaderLength..]), out _));
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Attachment_stored_roundtrips(bool bytewise)
    {
        var reply = new AttachmentStoredReply(AttachmentId.NewRandom(), 12345, 1_800_000_000, "https://relay.example/a/AAAAAAAAAAAAAAAAAAAAAA");
        var (header, body) = Roundtrip(w => FrameWriter.WriteAttachmentStored(w, 5, reply), bytewise);

        Assert.Equal(FrameType.AttachmentStored, header.Type);
        Assert.True(BodyReader.TryReadAttachmentStored(body, out var parsed));
        Assert.Equal(reply, parsed);
    }

    [Fact]
    public void Attachment_stored_with_a_uri_length_that_does_not_match_does_not_parse()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteAttachmentStored(writer, 5, new AttachmentStoredReply(AttachmentId.NewRandom(), 1, 2, "http://x/a/y"));
        var body = writer.WrittenMemory[ProtocolConstants.HeaderLength..].ToArray();

        Assert.False(BodyReader.TryReadAttachmentStored(new ReadOnlySequence<byte>(body[..^1]), out _));
        Assert.False(BodyReader.TryReadAttachmentStored(new ReadOnlySequence<byte>([.. body, 0x2F]), out _));
    }

    private static (FrameHeader Header, ReadOnlySequence<byte> Body) Roundtrip(Action<ArrayBufferWriter<byte>> write, bool bytewise)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        var bytes = writer.WrittenSpan.ToArray();
        var buffer = bytewise ? Segments.Bytewise(bytes) : new ReadOnlySequence<byte>(bytes);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, 1 << 20, out var header, out var body));
        Assert.True(buffer.IsEmpty);
        Assert.Equal(5u, header.RequestId);
        return (header, body);
    }
}
