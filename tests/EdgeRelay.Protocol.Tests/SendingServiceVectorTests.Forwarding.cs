using System.Buffers.Text;
using System.Text;
using EdgeRelay.Testing;

namespace EdgeRelay.Protocol.Tests;

// AUTH_TOKEN, SEND_VIA, SEND_VIA_MODE, SEND_STATUS, WATCH_SENDS and the SEND_STATE pushes (PROTOCOL.md 4.12 to 4.14, 4.17).
public sealed partial class SendingServiceVectorTests
{
    // The request ids the file's header gives each group.
    private const uint AuthTokenId = 3;
    private const uint SendViaId = 4;
    private const uint SendStatusId = 5;
    private const uint WatchSendsId = 6;
    private const uint SendViaModeId = 13;

    [Fact]
    public void AUTH_TOKEN_its_OK_and_TOKEN_UNKNOWN() => CheckAuthToken(ProtocolVectors.Load());

    [Fact]
    public void SEND_VIA_both_SEND_QUEUED_and_its_refusals() => CheckSendVia(ProtocolVectors.Load());

    [Fact]
    public void SEND_VIA_MODE_its_SEND_QUEUED_and_MODE_UNAVAILABLE() => CheckSendViaMode(ProtocolVectors.Load());

    [Fact]
    public void SEND_STATUS_and_SEND_STATES_with_every_state() => CheckSendStatus(ProtocolVectors.Load());

    [Fact]
    public void WATCH_SENDS_and_its_OK() => CheckWatchSends(ProtocolVectors.Load());

    [Fact]
    public void SEND_STATE_pushes() => CheckSendStatePushes(ProtocolVectors.Load());

    private static void CheckAuthToken(ProtocolVectors v)
    {
        // The reference relay's form (4.12): ert_, the 16-hex-digit public id, _, 256 random bits in base64url.
        var token = v.Text("auth_token.token");
        Assert.Matches("^ert_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$", token);
        var secret = Base64Url.DecodeFromChars(token.AsSpan(21));
        Assert.Equal(32, secret.Length);
        Assert.Equal(token[21..], Base64Url.EncodeToString(secret));

        var bytes = Encoding.ASCII.GetBytes(token);
        AssertWrites(v, "auth_token.frame", w => FrameWriter.WriteAuthToken(w, AuthTokenId, bytes));
        AssertReads(v, "auth_token.frame", FrameType.AuthToken, AuthTokenId, body =>
        {
            var read = new byte[AuthTokenRequest.MaxTokenBytes];
            Assert.Equal(BodyStatus.Ok, BodyReader.ReadAuthToken(body, read, out var length));
            Assert.Equal(token, Encoding.ASCII.GetString(read, 0, length));
        });
        AssertEmptyFrame(v, "auth_token.ok_frame", FrameType.Ok, AuthTokenId);
        AssertError(v, "auth_token.token_unknown_frame", AuthTokenId, ErrorCode.TokenUnknown);
    }

    private static void CheckSendVia(ProtocolVectors v)
    {
        // The card's endpoint and pin, and the SEND's ephemeral address and ciphertext.
        var endpoint = v.Text("hello_reply.endpoint");
        var pin = v.Bytes("hello_reply.tls_pin");
        var address = v.Bytes("ephemeral.address");
        var ciphertext = v.Bytes("send.ciphertext");
        AssertWrites(v, "send_via.frame", w => FrameWriter.WriteSendVia(w, SendViaId, endpoint, pin, address, ciphertext));
        AssertReads(v, "send_via.frame", FrameType.SendVia, SendViaId, body =>
        {
            Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendVia(body, out var request));
            Assert.Equal(endpoint, request.Endpoint);
            Assert.Equal(pin, request.Pin);
            Assert.Equal(address, request.EphemeralAddress);
            Assert.Equal(ciphertext, request.Ciphertext);
        });

        AssertSendState(v, "send_via.queued_frame", FrameType.SendQueued, SendViaId, new(v.Number("send_via.send_id"), SendStateEntry.Queued, 0));
        AssertSendState(v, "send_via.local_frame", FrameType.SendQueued, SendViaId, new(0, SendStateEntry.Delivered, 0));
        AssertError(v, "send_via.not_authorised_frame", SendViaId, ErrorCode.NotAuthorised);
        AssertError(v, "send_via.queue_full_frame", SendViaId, ErrorCode.QueueFull);
    }

    private static void CheckSendViaMode(ProtocolVectors v)
    {
        // Mode 2, then exactly SEND_VIA's body (4.17): the same destination, address and ciphertext.
        var endpoint = v.Text("hello_reply.endpoint");
        var pin = v.Bytes("hello_reply.tls_pin");
        var address = v.Bytes("ephemeral.address");
        var ciphertext = v.Bytes("send.ciphertext");
        Assert.Equal(v.Bytes("send_via.frame")[ProtocolConstants.HeaderLength..], v.Bytes("send_via_mode.frame")[(ProtocolConstants.HeaderLength + 1)..]);
        AssertWrites(v, "send_via_mode.frame", w => FrameWriter.WriteSendViaMode(w, SendViaModeId, SendingMode.Batched, endpoint, pin, address, ciphertext));
        AssertReads(v, "send_via_mode.frame", FrameType.SendViaMode, SendViaModeId, body =>
        {
            Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendViaMode(body, out var mode, out var request));
            Assert.Equal(SendingMode.Batched, mode);
            Assert.Equal(endpoint, request.Endpoint);
            Assert.Equal(pin, request.Pin);
            Assert.Equal(address, request.EphemeralAddress);
            Assert.Equal(ciphertext, request.Ciphertext);
        });

        AssertSendState(v, "send_via_mode.queued_frame", FrameType.SendQueued, SendViaModeId, new(v.Number("send_via_mode.send_id"), SendStateEntry.Queued, 0));
        AssertError(v, "send_via_mode.mode_unavailable_frame", SendViaModeId, ErrorCode.ModeUnavailable);
    }

    private static void CheckSendStatus(ProtocolVectors v)
    {
        var ids = v.Numbers("send_status.send_ids");
        AssertWrites(v, "send_status.frame", w => FrameWriter.WriteSendStatus(w, SendStatusId, ids));
        AssertReads(v, "send_status.frame", FrameType.SendStatus, SendStatusId, body =>
        {
            Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendStatus(body, out var read));
            Assert.Equal(ids, read);
        });

        var entries = ids.Zip(v.Pairs("send_status.states"), (id, s) => new SendStateEntry(id, checked((byte)s.First), checked((ushort)s.Second))).ToArray();
        Assert.Equal(ids.Length, entries.Length);
        // The header promises one entry of each state, the failed one with a code.
        Assert.Equal([SendStateEntry.Queued, SendStateEntry.Delivered, SendStateEntry.Failed, SendStateEntry.Unknown], entries.Select(e => e.State));
        Assert.Equal((ushort)ErrorCode.AddressExpired, entries[2].Code);

        AssertReads(v, "send_status.states_frame", FrameType.SendStates, SendStatusId, body =>
        {
            Assert.True(BodyReader.TryReadSendStates(body, out var read));
            Assert.Equal(entries, read);
        });
        AssertWrites(v, "send_status.states_frame", w => FrameWriter.WriteSendStates(w, SendStatusId, entries));
    }

    private static void CheckWatchSends(ProtocolVectors v)
    {
        AssertEmptyFrame(v, "watch_sends.frame", FrameType.WatchSends, WatchSendsId);
        AssertEmptyFrame(v, "watch_sends.ok_frame", FrameType.Ok, WatchSendsId);
    }

    private static void CheckSendStatePushes(ProtocolVectors v)
    {
        AssertSendState(v, "send_state.delivered_frame", FrameType.SendState, 0, new(v.Number("send_state.delivered_send_id"), SendStateEntry.Delivered, 0));
        var code = checked((ushort)v.Number("send_state.failed_code"));
        Assert.Equal((ushort)ErrorCode.Undeliverable, code);
        AssertSendState(v, "send_state.failed_frame", FrameType.SendState, 0, new(v.Number("send_state.failed_send_id"), SendStateEntry.Failed, code));
    }

    /// <summary>SEND_QUEUED or a SEND_STATE push holding <paramref name="expected"/>, both ways.</summary>
    private static void AssertSendState(ProtocolVectors v, string name, FrameType type, uint requestId, SendStateEntry expected)
    {
        AssertReads(v, name, type, requestId, body =>
        {
            Assert.True(BodyReader.TryReadSendState(body, out var read));
            Assert.Equal(expected, read);
        });
        AssertWrites(v, name, w => FrameWriter.WriteSendState(w, type, requestId, expected));
    }
}
