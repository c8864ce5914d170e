using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;

namespace EdgeRelay.Server.Tests;

/// <summary>Only the operator's RMs store attachments: each upload command without an RM token is refused, and a token's quota holds.</summary>
public sealed class AttachmentAccessTests
{
    [Fact]
    public async Task Every_upload_command_without_a_token_is_refused_not_authorised_and_nothing_is_stored()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var started = await rm.BeginUploadAsync(10, AttachmentRelay.Sha256(new byte[10]));
        await using var anonymous = await relay.Relay.ConnectAsync();

        var codes = new[]
        {
            (await Assert.ThrowsAsync<RelayException>(() => anonymous.BeginUploadAsync(10, new byte[32]))).Code,
            (await Assert.ThrowsAsync<RelayException>(() => anonymous.UploadChunkAsync(started.Upload, 0, new byte[10]))).Code,
            (await Assert.ThrowsAsync<RelayException>(() => anonymous.ResumeUploadAsync(started.Upload))).Code,
            (await Assert.ThrowsAsync<RelayException>(() => anonymous.CommitUploadAsync(started.Upload))).Code,
        };

        Assert.All(codes, c => Assert.Equal(ErrorCode.NotAuthorised, c));
        Assert.Equal(0, (await rm.ResumeUploadAsync(started.Upload)).Received);
        Assert.Equal(1, relay.Server.Attachments.GetStatistics().UploadsStarted);
        await anonymous.PingAsync();
    }

    [Fact]
    public async Task A_peer_token_does_not_upload_and_a_revoked_rm_token_is_refused_with_its_own_code()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        var peer = relay.Server.Tokens.Create("relay-b", TokenRole.Peer);
        var revoked = relay.Server.Tokens.Create("gone", TokenRole.Rm);
        await using var peerClient = await relay.ConnectRmAsync(peer.Secret);
        await using var revokedClient = await relay.ConnectRmAsync(revoked.Secret);
        Assert.True(relay.Server.Tokens.Revoke(revoked.Token.Id));

        var asPeer = await Assert.ThrowsAsync<RelayException>(() => peerClient.UploadAttachmentAsync(new byte[10]));
        var asRevoked = await Assert.ThrowsAsync<RelayException>(() => revokedClient.UploadAttachmentAsync(new byte[10]));

        Assert.Equal(ErrorCode.NotAuthorised, asPeer.Code);
        Assert.Equal(ErrorCode.TokenRevoked, asRevoked.Code);
        Assert.Equal(0, relay.Server.Attachments.GetStatistics().UploadsStarted);
    }

    [Fact]
    public async Task A_token_over_its_attachment_quota_is_refused_quota_token_while_another_token_still_uploads()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        var small = relay.Server.Tokens.Create("small", TokenRole.Rm, new TokenLimits { MaxAttachmentBytes = 1500 });
        await using var limited = await relay.ConnectRmAsync(small.Secret);
        await using var other = await relay.ConnectRmAsync();
        await limited.UploadAttachmentAsync(AttachmentRelay.Content(1000));

        var refused = await Assert.ThrowsAsync<RelayException>(() => limited.BeginUploadAsync(501, new byte[32]));

        Assert.Equal(ErrorCode.QuotaToken, refused.Code);
        Assert.Equal(1000, small.Token.AttachmentBytes);
        await limited.UploadAttachmentAsync(AttachmentRelay.Content(500));
        await other.UploadAttachmentAsync(AttachmentRelay.Content(1000));
        Assert.Equal(1500, small.Token.AttachmentBytes);
    }

    [Fact]
    public async Task Chunks_take_nothing_from_the_tokens_request_rate_while_the_other_upload_commands_do()
    {
        // On a fake clock the bucket never refills: what the upload takes from it is exactly what is left.
        await using var relay = await AttachmentRelay.StartAsync(fakeClock: true);
        var slow = relay.Server.Tokens.Create("slow", TokenRole.Rm, new TokenLimits { RequestsPerSecond = 1, Burst = 3 });
        await using var rm = await relay.ConnectRmAsync(slow.Secret);
        var content = AttachmentRelay.Content((10 * rm.MaxUploadChunk) + 1);

        await rm.UploadAttachmentAsync(content); // BEGIN and COMMIT: two requests; eleven chunks: none
        var third = await rm.BeginUploadAsync(10, new byte[32]);
        var refused = await Assert.ThrowsAsync<RelayException>(() => rm.ResumeUploadAsync(third.Upload));

        Assert.Equal(ErrorCode.TokenRateLimited, refused.Code);
        Assert.Equal(content.Length, relay.Server.Attachments.GetStatistics().BytesReceived);
    }
}
