using System.Buffers;

namespace EdgeRelay.Protocol.Tests;

/// <summary>SEND_VIA, SEND_STATUS and the send-state replies: round trips (whole and in one-byte segments) and every refusal of the parsers.</summary>
public class SendingFrameTests
{
    private static readonly byte[] Pin = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SEND_VIA_roundtrips(bool bytewise)
    {
        var ephemeral = Enumerable.Range(0, 73).Select(i => (byte)(i + 1)).ToArray();
        var body = Body(w => FrameWriter.WriteSendVia(w, 5, "relay-b.example:7400", Pin, ephemeral, [1, 2, 3]), FrameType.SendVia, bytewise);

        Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendVia(body, out var request));
        Assert.Equal("relay-b.example:7400", request.Endpoint);
        Assert.Equal(Pin, request.Pin);
        Assert.Equal(ephemeral, request.EphemeralAddress);
        Assert.Equal(new byte[] { 1, 2, 3 }, request.Ciphertext);
    }

    [Theory]
    [InlineData(false, SendingMode.Batched)]
    [InlineData(true, SendingMode.Batched)]
    [InlineData(false, (SendingMode)200)] // a mode no relay offers still parses: refusing it is MODE_UNAVAILABLE, not a layout error
    public void SEND_VIA_MODE_roundtrips(bool bytewise, SendingMode mode)
    {
        var ephemeral = Enumerable.Range(0, 73).Select(i => (byte)(i + 1)).ToArray();
        var body = Body(w => FrameWriter.WriteSendViaMode(w, 5, mode, "relay-b.example:7400", Pin, ephemeral, [1, 2, 3]), FrameType.SendViaMode, bytewise);

        Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendViaMode(body, out var readMode, out var request));
        Assert.Equal(mode, readMode);
        Assert.Equal("relay-b.example:7400", request.Endpoint);
        Assert.Equal(Pin, request.Pin);
        Assert.Equal(ephemeral, request.EphemeralAddress);
        Assert.Equal(new byte[] { 1, 2, 3 }, request.Ciphertext);
    }

    [Fact]
    public void A_SEND_VIA_MODE_body_is_the_mode_then_exactly_a_SEND_VIA_body()
    {
        var ephemeral = new byte[73];
        var via = new ArrayBufferWriter<byte>();
        FrameWriter.WriteSendVia(via, 5, "b:1", [], ephemeral, [9]);
        var withMode = new ArrayBufferWriter<byte>();
        FrameWriter.WriteSendViaMode(withMode, 5, SendingMode.Batched, "b:1", [], ephemeral, [9]);

        var viaBody = via.WrittenSpan[ProtocolConstants.HeaderLength..].ToArray();
        Assert.Equal([2, .. viaBody], withMode.WrittenSpan[ProtocolConstants.HeaderLength..].ToArray());
        Assert.Equal((byte)0x18, withMode.WrittenSpan[4]);
    }

    [Theory]
    [InlineData(new byte[0], BodyStatus.Malformed)] // no mode
    [InlineData(new byte[] { 2 }, BodyStatus.Malformed)] // a mode and no SEND_VIA body: no endpoint length
    [InlineData(new byte[] { 2, 0 }, BodyStatus.OutOfRange)] // endpoint_len 0, as SEND_VIA refuses it
    public void A_SEND_VIA_MODE_body_is_refused_as_SEND_VIA_refuses_the_rest(byte[] body, BodyStatus expected) =>
        Assert.Equal(expected, BodyReader.ReadSendViaMode(new ReadOnlySequence<byte>(body), out _, out _));

    [Theory]
    [InlineData("relay.example:7400", true)]
    [InlineData("[2001:db8::1]:7400", true)]
    [InlineData("127.0.0.1:1", true)]
    [InlineData("relay.example", false)] // no port
    [InlineData("relay.example:0", false)] // port 0
    [InlineData("relay.example:65536", false)] // past the last port
    [InlineData(":7400", false)] // no host
    [InlineData("2001:db8::1:7400", false)] // IPv6 without brackets
    [InlineData("a b:7400", false)] // whitespace
    [InlineData("relay.example:+80", false)] // a sign is not a digit
    public void Endpoints_are_host_and_port_as_cards_carry_them(string endpoint, bool valid) =>
        Assert.Equal(valid, BodyReader.IsHostAndPort(endpoint));

    [Fact]
    public void A_SEND_VIA_endpoint_that_is_not_UTF8_is_malformed()
    {
        byte[] body = [2, 0xC3, 0x28, 0, .. new byte[73], 1];

        Assert.Equal(BodyStatus.Malformed, BodyReader.ReadSendVia(new ReadOnlySequence<byte>(body), out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SEND_STATUS_and_SEND_STATES_roundtrip(bool bytewise)
    {
        var body = Body(w => FrameWriter.WriteSendStatus(w, 9, [1, long.MaxValue]), FrameType.SendStatus, bytewise);
        Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendStatus(body, out var ids));
        Assert.Equal([1, long.MaxValue], ids);

        SendStateEntry[] entries = [new(1, SendStateEntry.Queued, 0), new(long.MaxValue, SendStateEntry.Failed, 54)];
        body = Body(w => FrameWriter.WriteSendStates(w, 9, entries), FrameType.SendStates, bytewise);
        Assert.True(BodyReader.TryReadSendStates(body, out var read));
        Assert.Equal(entries, read);
    }

    [Theory]
    [InlineData(FrameType.SendQueued)]
    [InlineData(FrameType.SendState)]
    public void A_single_send_state_is_eleven_bytes_and_roundtrips(FrameType type)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteSendState(writer, type, 0, new SendStateEntry(0x0102030405060708, SendStateEntry.Failed, 0x0A0B));

        Assert.Equal(
            Convert.FromHexString("0000000B" + ((byte)type).ToString("X2", System.Globalization.CultureInfo.InvariantCulture) + "00" + "00000000" + "0102030405060708" + "03" + "0A0B"),
            writer.WrittenSpan.ToArray());
        Assert.True(BodyReader.TryReadSendState(Segments.Bytewise(writer.WrittenSpan[ProtocolConstants.HeaderLength..].ToArray()), out var entry));
        Assert.Equal(new SendStateEntry(0x0102030405060708, 3, 0x0A0B), entry);
        Assert.False(BodyReader.TryReadSendState(new ReadOnlySequence<byte>(new byte[10]), out _));
        Assert.False(BodyReader.TryReadSendStates(new ReadOnlySequence<byte>(new byte[] { 0, 1, 0 }), out _));
    }

    private static ReadOnlySequence<byte> Body(Action<ArrayBufferWriter<byte>> write, FrameType type, bool bytewise)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        var bytes = writer.WrittenSpan.ToArray();
        var buffer = bytewise ? Segments.Bytewise(bytes) : new ReadOnlySequence<byte>(bytes);
        Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref buffer, 1 << 20, out var header, out var body));
        Assert.Equal(type, header.Type);
        return body;
    }
}
