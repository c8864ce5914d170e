using System.Buffers;

namespace EdgeRelay.Protocol.Tests;

public class StatusFrameTests
{
    private static readonly RelayStatus Sample = new()
    {
        Availability = Availability.Degraded,
        Reason = "disk nearly full — 5%",
        Roles = ServiceRoles.Receiving | ServiceRoles.Sending,
        ConfigVersion = 7,
        MaxCiphertext = 16_384,
        MaxSendViaCiphertext = 8_192,
        MaxAttachment = 100L << 20,
        OutboundMessages = 12,
        OutboundBytes = 12_345,
        DiskHeadroom = RelayStatus.Unlimited,
        AttachmentHeadroom = 1L << 40,
        SendingOptions = [new SendingOption(SendingMode.Immediate, 0), new SendingOption(SendingMode.Batched, 5_000)],
    };

    [Theory]
    [InlineData(FrameType.StatusReply, 42u)]
    [InlineData(FrameType.Config, 0u)]
    public void A_status_round_trips_whole_and_byte_by_byte(FrameType type, uint requestId)
    {
        var output = new ArrayBufferWriter<byte>();
        Sample.Write(output, type, requestId);
        var frame = output.WrittenSpan.ToArray();

        var header = FrameHeader.Read(frame);
        Assert.Equal(type, header.Type);
        Assert.Equal(requestId, header.RequestId);
        Assert.Equal(frame.Length - ProtocolConstants.HeaderLength, header.BodyLength);
        Assert.Equal(Sample.BodyLength, header.BodyLength);

        var body = frame[ProtocolConstants.HeaderLength..];
        foreach (var sequence in new[] { new ReadOnlySequence<byte>(body), Segments.Bytewise(body) })
        {
            Assert.True(RelayStatus.TryRead(sequence, out var read));
            Assert.Equal(Sample with { SendingOptions = read.SendingOptions }, read);
            Assert.Equal(Sample.SendingOptions, read.SendingOptions);
            Assert.True(read.SameConfiguration(Sample));
        }
    }

    [Fact]
    public void The_layout_is_the_documented_one()
    {
        var status = new RelayStatus { Reason = "ab", Roles = ServiceRoles.Sending, ConfigVersion = 0x01020304, MaxCiphertext = 5, SendingOptions = [new SendingOption((SendingMode)2, 0x0A0B0C0D)] };
        var output = new ArrayBufferWriter<byte>();
        status.Write(output, FrameType.StatusReply, 1);
        var body = output.WrittenSpan[ProtocolConstants.HeaderLength..].ToArray();

        Assert.Equal(1 + 1 + 2 + 1 + 4 + 4 + 4 + 40 + 1 + 5, body.Length);
        Assert.Equal([0, 2, (byte)'a', (byte)'b', 2, 1, 2, 3, 4, 0, 0, 0, 5], body[..13]);
        Assert.Equal([1, 2, 0x0A, 0x0B, 0x0C, 0x0D], body[^6..]);
    }

    [Fact]
    public void Values_from_a_newer_relay_are_kept_as_numbers()
    {
        var status = new RelayStatus { Availability = (Availability)9, Roles = (ServiceRoles)0x80, SendingOptions = [new SendingOption((SendingMode)7, 1)] };
        var output = new ArrayBufferWriter<byte>();
        status.Write(output, FrameType.StatusReply, 1);

        Assert.True(RelayStatus.TryRead(new ReadOnlySequence<byte>(output.WrittenMemory[ProtocolConstants.HeaderLength..]), out var read));
        Assert.Equal((Availability)9, read.Availability);
        Assert.Equal((ServiceRoles)0x80, read.Roles);
        Assert.Equal((SendingMode)7, read.SendingOptions[0].Mode);
    }

    [Fact]
    public void A_body_whose_length_disagrees_with_its_counts_or_whose_reason_is_not_utf8_does_not_parse()
    {
        var output = new ArrayBufferWriter<byte>();
        Sample.Write(output, FrameType.StatusReply, 1);
        var body = output.WrittenSpan[ProtocolConstants.HeaderLength..].ToArray();

        Assert.False(RelayStatus.TryRead(new ReadOnlySequence<byte>(body[..^1]), out _));
        Assert.False(RelayStatus.TryRead(new ReadOnlySequence<byte>([.. body, 0]), out _));
        Assert.False(RelayStatus.TryRead(ReadOnlySequence<byte>.Empty, out _));
        var badReason = (byte[])body.Clone();
        badReason[2] = 0xFF;
        Assert.False(RelayStatus.TryRead(new ReadOnlySequence<byte>(badReason), out _));
    }
}
