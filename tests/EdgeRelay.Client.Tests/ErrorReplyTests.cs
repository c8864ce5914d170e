using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

public class ErrorReplyTests
{
    /// <summary>Every code of docs/PROTOCOL.md section 5, with whether the relay closes the connection after it, and one code from the future.</summary>
    private static readonly (ErrorCode Code, bool Closes)[] Table =
    [
        (ErrorCode.MalformedFrame, false),
        (ErrorCode.FrameTooLarge, true),
        (ErrorCode.UnknownCommand, false),
        (ErrorCode.UnsupportedVersion, true),
        (ErrorCode.HandshakeRequired, true),
        (ErrorCode.TruncatedFrame, true),
        (ErrorCode.InvalidHeader, true),
        (ErrorCode.CiphertextTooLarge, false),
        (ErrorCode.InvalidArgument, false),
        (ErrorCode.RateLimited, false),
        (ErrorCode.AddressMalformed, false),
        (ErrorCode.AddressInvalid, false),
        (ErrorCode.AddressUnknown, false),
        (ErrorCode.AddressExpired, false),
        (ErrorCode.AddressRevoked, false),
        (ErrorCode.QuotaAddress, false),
        (ErrorCode.BadSignature, false),
        (ErrorCode.NotAuthenticated, false),
        (ErrorCode.UnknownMessage, false),
        (ErrorCode.NotSubscribed, false),
        (ErrorCode.ShuttingDown, true),
        (ErrorCode.InternalError, true),
        (ErrorCode.QuotaServer, false),
        (ErrorCode.TokenRateLimited, false),
        (ErrorCode.QuotaToken, false),
        (ErrorCode.TokenUnknown, false),
        (ErrorCode.TokenRevoked, false),
        (ErrorCode.NotAuthorised, false),
        (ErrorCode.QueueFull, false),
        (ErrorCode.ModeUnavailable, false),
        (ErrorCode.AttachmentTooLarge, false),
        (ErrorCode.QuotaAttachments, false),
        (ErrorCode.UploadUnknown, false),
        (ErrorCode.UploadOffset, false),
        (ErrorCode.UploadIncomplete, false),
        ((ErrorCode)99, false),
    ];

    public static TheoryData<ErrorCode> Codes
    {
        get
        {
            var data = new TheoryData<ErrorCode>();
            foreach (var (code, _) in Table)
            {
                data.Add(code);
            }

            return data;
        }
    }

    public static TheoryData<ErrorCode, bool> CodesAndWhetherTheyClose
    {
        get
        {
            var data = new TheoryData<ErrorCode, bool>();
            foreach (var (code, closes) in Table)
            {
                data.Add(code, closes);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Codes))]
    public async Task An_ERROR_reply_becomes_a_RelayException_with_its_code_and_reason(ErrorCode code)
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var ping = client.PingAsync();
        var request = await server.ReadFrameAsync();
        const string Reason = "la raison, en UTF-8 : é";

        await server.ErrorAsync(request.Header.RequestId, code, Reason);

        var ex = await Assert.ThrowsAsync<RelayException>(() => ping.Within());
        Assert.Equal(code, ex.Code);
        Assert.Equal(Reason, ex.Reason);
    }

    [Theory]
    [MemberData(nameof(CodesAndWhetherTheyClose))]
    public async Task ConnectionClosed_is_true_exactly_for_the_codes_after_which_the_relay_closes(ErrorCode code, bool closes)
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var ping = client.PingAsync();
        var request = await server.ReadFrameAsync();

        await server.ErrorAsync(request.Header.RequestId, code, "refused");

        var ex = await Assert.ThrowsAsync<RelayException>(() => ping.Within());
        Assert.Equal(closes, ex.ConnectionClosed);
    }

    [Fact]
    public async Task An_ERROR_reply_fails_only_its_own_request()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var refused = client.PingAsync();
        var answered = client.PingAsync();
        var requests = await server.ReadFramesAsync(2);

        await server.ErrorAsync(requests[0].RequestId, ErrorCode.RateLimited, "slow down");
        await server.PongAsync(requests[1].RequestId);

        await Assert.ThrowsAsync<RelayException>(() => refused.Within());
        await answered.Within();
    }

    [Fact]
    public async Task A_connection_level_ERROR_with_request_id_0_fails_every_pending_request_with_its_code_and_reason()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var pings = Enumerable.Range(0, 3).Select(_ => client.PingAsync()).ToArray();
        await server.ReadFramesAsync(pings.Length);

        await server.ErrorAsync(0, ErrorCode.ShuttingDown, "draining");

        foreach (var ping in pings)
        {
            var ex = await Assert.ThrowsAsync<RelayException>(() => ping.Within());
            Assert.Equal(ErrorCode.ShuttingDown, ex.Code);
            Assert.Equal("draining", ex.Reason);
        }
    }
}
