using System.Buffers;
using EdgeRelay.Testing;

namespace EdgeRelay.Protocol.Tests;

/// <summary>
/// The sending service's groups of docs/vectors/protocol-v1.txt (PROTOCOL.md 4.12 to 4.17). The expected bytes
/// were written from PROTOCOL.md's tables, not produced by this code: the codec must write every frame of
/// them, request or reply, byte for byte from the fields the file names, and read every one of them back
/// to those fields, whole and from one-byte segments.
/// </summary>
public sealed partial class SendingServiceVectorTests
{
    /// <summary>Checked by EdgeRelay.Addressing.Tests' ProtocolVectorTests (they need the HPKE and the cards).</summary>
    private static readonly string[] AddressingGroups = ["hello", "hello_reply", "card", "endpoints", "ephemeral", "send"];

    private static readonly string[] Groups =
        ["auth_token", "send_via", "send_via_mode", "send_status", "watch_sends", "send_state", "upload", "status", "status_reply", "config"];

    [Fact]
    public void Every_vector_in_the_file_is_checked_here_or_by_the_addressing_tests()
    {
        var v = ProtocolVectors.Load();
        CheckAuthToken(v);
        CheckSendVia(v);
        CheckSendViaMode(v);
        CheckSendStatus(v);
        CheckWatchSends(v);
        CheckSendStatePushes(v);
        CheckUpload(v);
        CheckStatus(v);

        Assert.Empty(v.Entries.Select(e => ProtocolVectors.GroupOf(e.Key)).Distinct().Except(Groups).Except(AddressingGroups));
        Assert.Empty(v.Unread(Groups));
    }

    /// <summary>What the codec writes must be the vector, byte for byte.</summary>
    private static void AssertWrites(ProtocolVectors v, string name, Action<ArrayBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        Assert.Equal(v.Text(name), Convert.ToHexStringLower(output.WrittenSpan));
    }

    /// <summary>
    /// The vector is exactly one frame of <paramref name="type"/> and <paramref name="requestId"/>, flags 0;
    /// <paramref name="check"/> gets its body, once contiguous and once in one-byte segments.
    /// </summary>
    private static void AssertReads(ProtocolVectors v, string name, FrameType type, uint requestId, Action<ReadOnlySequence<byte>> check)
    {
        var frame = v.Bytes(name);
        foreach (var input in new[] { new ReadOnlySequence<byte>(frame), Segments.Bytewise(frame) })
        {
            var rest = input;
            Assert.Equal(FrameParseStatus.Complete, FrameReader.TryRead(ref rest, frame.Length, out var header, out var body));
            Assert.True(rest.IsEmpty, $"{name}: its length prefix covers the body and nothing else");
            Assert.Equal((type, (byte)0, requestId), (header.Type, header.Flags, header.RequestId));
            check(body);
        }
    }

    /// <summary>A frame with an empty body (OK, WATCH_SENDS, STATUS), both ways.</summary>
    private static void AssertEmptyFrame(ProtocolVectors v, string name, FrameType type, uint requestId)
    {
        AssertReads(v, name, type, requestId, body => Assert.True(body.IsEmpty));
        AssertWrites(v, name, w => FrameWriter.WriteEmpty(w, type, requestId));
    }

    /// <summary>An ERROR with <paramref name="code"/>, both ways; its reason is whatever the vector carries (a hint, not the contract).</summary>
    private static void AssertError(ProtocolVectors v, string name, uint requestId, ErrorCode code)
    {
        var reason = "";
        AssertReads(v, name, FrameType.Error, requestId, body =>
        {
            Assert.True(BodyReader.TryReadError(body, out var error));
            Assert.Equal(code, error.Code);
            Assert.NotEmpty(error.Reason);
            reason = error.Reason;
        });
        AssertWrites(v, name, w => FrameWriter.WriteError(w, requestId, code, reason));
    }
}
