using System.Buffers;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;

namespace EdgeRelay.Server.Tests;

/// <summary>Uploads over the binary protocol against a real relay on loopback: chunks, resume, commit, and each refusal with its code.</summary>
public sealed class AttachmentUploadTests
{
    [Fact]
    public async Task A_chunked_upload_is_committed_and_served_at_the_uri_it_names()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var content = AttachmentRelay.Content(5 * rm.MaxUploadChunk + 123);

        var stored = await rm.UploadAttachmentAsync(content);

        Assert.Equal(content.Length, stored.Size);
        Assert.Equal(new Uri($"http://{relay.Relay.Host.HttpEndPoint}/a/{stored.Id}"), stored.Uri);
        Assert.Equal(content, await relay.Http.GetByteArrayAsync(stored.Uri));
        var stats = relay.Server.Attachments.GetStatistics();
        Assert.Equal((1, 0, content.Length), (stats.UploadsCommitted, stats.UploadsInProgress, stats.BytesReceived));
    }

    [Fact]
    public async Task The_uri_uses_the_configured_public_base_url()
    {
        await using var relay = await AttachmentRelay.StartAsync(o => o.Attachments.PublicBaseUrl = "https://files.example.org/relay/");
        await using var rm = await relay.ConnectRmAsync();

        var stored = await rm.UploadAttachmentAsync(AttachmentRelay.Content(10));

        Assert.Equal($"https://files.example.org/relay/a/{stored.Id}", stored.Uri.ToString());
    }

    [Fact]
    public async Task An_upload_cut_off_by_a_dropped_connection_resumes_on_a_new_one_from_what_the_relay_holds()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        int rawChunk;
        UploadId upload;
        var content = AttachmentRelay.Content(300_000);
        using (var dropped = await RawConnection.ConnectAsync(relay.Relay.Host.RelayEndPoint))
        {
            await dropped.SendAsync(w => FrameWriter.WriteAuthToken(w, 9, System.Text.Encoding.ASCII.GetBytes(relay.RmToken)));
            Assert.Equal(FrameType.Ok, (await dropped.ReadFrameAsync()).Header.Type);
            await dropped.SendAsync(w => FrameWriter.WriteUploadBegin(w, 1, (ulong)content.Length, AttachmentRelay.Sha256(content)));
            var (header, body) = await dropped.ReadFrameAsync();
            Assert.Equal(FrameType.UploadStarted, header.Type);
            Assert.True(BodyReader.TryReadUploadStarted(new ReadOnlySequence<byte>(body), out var started));
            upload = started.Upload;
            rawChunk = (int)started.MaxChunk;
            for (int i = 0; i < 3; i++)
            {
                await dropped.SendAsync(w => FrameWriter.WriteUploadChunk(w, (uint)(2 + i), upload, (ulong)(i * rawChunk), content.AsSpan(i * rawChunk, rawChunk)));
                Assert.Equal(FrameType.UploadProgress, (await dropped.ReadFrameAsync()).Header.Type);
            }

            // Half of a fourth chunk, then the connection is gone.
            var fourth = new System.Buffers.ArrayBufferWriter<byte>();
            FrameWriter.WriteUploadChunk(fourth, 5, upload, (ulong)(3 * rawChunk), content.AsSpan(3 * rawChunk, rawChunk));
            await dropped.SendRawAsync(fourth.WrittenSpan[..(fourth.WrittenCount / 2)].ToArray());
        }

        await using var rm = await relay.ConnectRmAsync();
        var resumed = await rm.ResumeUploadAsync(upload);
        Assert.Equal(3L * rawChunk, resumed.Received);
        Assert.Equal(content.Length, resumed.Size);

        var stored = await rm.UploadAttachmentAsync(content, resume: upload);

        Assert.Equal(content, await relay.Http.GetByteArrayAsync(stored.Uri));
        Assert.Equal(content.Length, relay.Server.Attachments.GetStatistics().BytesReceived); // nothing sent twice
    }

    [Fact]
    public async Task A_declared_size_over_the_maximum_is_refused_and_the_connection_stays()
    {
        await using var relay = await AttachmentRelay.StartAsync(o => o.Attachments.MaxBytes = 1000);
        await using var rm = await relay.ConnectRmAsync();

        var refused = await Assert.ThrowsAsync<RelayException>(() => rm.BeginUploadAsync(1001, new byte[32]));

        Assert.Equal(ErrorCode.AttachmentTooLarge, refused.Code);
        Assert.Equal(1000, (await rm.UploadAttachmentAsync(AttachmentRelay.Content(1000))).Size);
        Assert.Equal(1000, relay.Server.Attachments.UsedBytes);
    }

    [Fact]
    public async Task Past_the_disk_budget_an_upload_is_refused_before_any_byte_and_after_an_expiry_accepted_again()
    {
        await using var relay = await AttachmentRelay.StartAsync(o => (o.Attachments.MaxBytes, o.Attachments.MaxDiskBytes) = (1000, 1500), fakeClock: true);
        await using var rm = await relay.ConnectRmAsync();
        await rm.UploadAttachmentAsync(AttachmentRelay.Content(1000));

        var refused = await Assert.ThrowsAsync<RelayException>(() => rm.UploadAttachmentAsync(AttachmentRelay.Content(501)));

        Assert.Equal(ErrorCode.QuotaAttachments, refused.Code);
        Assert.Equal(0, relay.Server.Attachments.GetStatistics().UploadsInProgress);
        Assert.Equal(500, (await rm.UploadAttachmentAsync(AttachmentRelay.Content(500))).Size);
        relay.Clock!.Advance(relay.Server.Options.Attachments.Expiry + relay.Server.Options.Attachments.SweepInterval);
        Assert.Equal(1000, (await rm.UploadAttachmentAsync(AttachmentRelay.Content(1000))).Size);
    }

    [Fact]
    public async Task Uploads_a_token_opens_and_never_finishes_are_bounded_per_token_and_in_all()
    {
        await using var relay = await AttachmentRelay.StartAsync(o => (o.Attachments.MaxOpenUploads, o.Attachments.MaxOpenUploadsPerToken) = (3, 2), fakeClock: true);
        await using var rm = await relay.ConnectRmAsync();
        var digest = AttachmentRelay.Sha256(AttachmentRelay.Content(1));
        await rm.BeginUploadAsync(1, digest);
        await rm.BeginUploadAsync(1, digest);

        var perToken = await Assert.ThrowsAsync<RelayException>(() => rm.BeginUploadAsync(1, digest));
        Assert.Equal(ErrorCode.QuotaToken, perToken.Code);

        // Another token has room of its own, until the relay's count is reached.
        await using var other = await relay.ConnectRmAsync(relay.Server.Tokens.Create("another app", TokenRole.Rm).Secret);
        await other.BeginUploadAsync(1, digest);
        var inAll = await Assert.ThrowsAsync<RelayException>(() => other.BeginUploadAsync(1, digest));
        Assert.Equal(ErrorCode.QuotaAttachments, inAll.Code);
        Assert.Equal(3, relay.Server.Attachments.GetStatistics().UploadsInProgress);

        // Never finished, they time out and make room again; the connections stayed open throughout.
        relay.Clock!.Advance(relay.Server.Options.Attachments.UploadTimeout + relay.Server.Options.Attachments.SweepInterval);
        Assert.Equal(1, (await rm.UploadAttachmentAsync(AttachmentRelay.Content(1))).Size);
    }

    [Fact]
    public async Task An_upload_without_progress_expires_and_is_unknown_afterwards()
    {
        await using var relay = await AttachmentRelay.StartAsync(fakeClock: true);
        await using var rm = await relay.ConnectRmAsync();
        var content = AttachmentRelay.Content(100);
        var started = await rm.BeginUploadAsync(100, AttachmentRelay.Sha256(content));
        Assert.Equal(relay.Clock!.GetUtcNow() + relay.Server.Options.Attachments.UploadTimeout, started.ExpiresAt);

        relay.Clock.Advance(relay.Server.Options.Attachments.UploadTimeout);

        var refused = await Assert.ThrowsAsync<RelayException>(() => rm.UploadChunkAsync(started.Upload, 0, content));
        Assert.Equal(ErrorCode.UploadUnknown, refused.Code);
        Assert.Equal(0, relay.Server.Attachments.UsedBytes);
    }

    [Fact]
    public async Task A_chunk_at_the_wrong_offset_and_a_commit_too_early_are_refused_without_losing_what_was_received()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var content = AttachmentRelay.Content(100);
        var started = await rm.BeginUploadAsync(100, AttachmentRelay.Sha256(content));
        await rm.UploadChunkAsync(started.Upload, 0, content.AsMemory(0, 60));

        var gap = await Assert.ThrowsAsync<RelayException>(() => rm.UploadChunkAsync(started.Upload, 61, content.AsMemory(61, 10)));
        var overlap = await Assert.ThrowsAsync<RelayException>(() => rm.UploadChunkAsync(started.Upload, 50, content.AsMemory(50, 10)));
        var past = await Assert.ThrowsAsync<RelayException>(() => rm.UploadChunkAsync(started.Upload, 60, new byte[41]));
        var early = await Assert.ThrowsAsync<RelayException>(() => rm.CommitUploadAsync(started.Upload));

        Assert.All([gap, overlap, past], e => Assert.Equal(ErrorCode.UploadOffset, e.Code));
        Assert.Equal(ErrorCode.UploadIncomplete, early.Code);
        Assert.Equal(60, (await rm.ResumeUploadAsync(started.Upload)).Received);
        var stored = await rm.UploadAttachmentAsync(content, resume: started.Upload);
        Assert.Equal(content, await relay.Http.GetByteArrayAsync(stored.Uri));
    }

    [Fact]
    public async Task Bytes_that_do_not_match_the_declared_digest_are_refused_and_dropped()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var started = await rm.BeginUploadAsync(100, AttachmentRelay.Sha256(AttachmentRelay.Content(100, seed: 2)));
        await rm.UploadChunkAsync(started.Upload, 0, AttachmentRelay.Content(100));

        var refused = await Assert.ThrowsAsync<RelayException>(() => rm.CommitUploadAsync(started.Upload));

        Assert.Equal(ErrorCode.UploadIncomplete, refused.Code);
        Assert.Equal(0, relay.Server.Attachments.GetStatistics().Attachments);
        Assert.Equal(ErrorCode.UploadUnknown, (await Assert.ThrowsAsync<RelayException>(() => rm.ResumeUploadAsync(started.Upload))).Code);
    }

    [Fact]
    public async Task An_id_that_names_no_upload_is_unknown_to_every_upload_command()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        await using var rm = await relay.ConnectRmAsync();
        var stranger = UploadId.NewRandom();

        var codes = new[]
        {
            (await Assert.ThrowsAsync<RelayException>(() => rm.UploadChunkAsync(stranger, 0, new byte[1]))).Code,
            (await Assert.ThrowsAsync<RelayException>(() => rm.ResumeUploadAsync(stranger))).Code,
            (await Assert.ThrowsAsync<RelayException>(() => rm.CommitUploadAsync(stranger))).Code,
        };

        Assert.All(codes, c => Assert.Equal(ErrorCode.UploadUnknown, c));
    }

    [Fact]
    public async Task Bodies_that_do_not_parse_are_refused_with_their_codes_and_the_connection_stays()
    {
        await using var relay = await AttachmentRelay.StartAsync();
        using var raw = await RawConnection.ConnectAsync(relay.Relay.Host.RelayEndPoint);
        await raw.SendAsync(w => FrameWriter.WriteAuthToken(w, 9, System.Text.Encoding.ASCII.GetBytes(relay.RmToken)));
        Assert.Equal(FrameType.Ok, (await raw.ReadFrameAsync()).Header.Type);

        async Task<ErrorCode> Refusal(FrameType type, byte[] body)
        {
            await raw.SendRawAsync(Frame(type, body));
            var (header, reply) = await raw.ReadFrameAsync();
            Assert.Equal(FrameType.Error, header.Type);
            Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(reply), out var error));
            return error.Code;
        }

        Assert.Equal(ErrorCode.MalformedFrame, await Refusal(FrameType.UploadBegin, new byte[39])); // one byte short
        Assert.Equal(ErrorCode.InvalidArgument, await Refusal(FrameType.UploadBegin, new byte[40])); // size 0
        Assert.Equal(ErrorCode.MalformedFrame, await Refusal(FrameType.UploadChunk, new byte[23])); // shorter than its header
        Assert.Equal(ErrorCode.InvalidArgument, await Refusal(FrameType.UploadChunk, new byte[24])); // no data
        Assert.Equal(ErrorCode.MalformedFrame, await Refusal(FrameType.UploadResume, new byte[17]));
        Assert.Equal(ErrorCode.MalformedFrame, await Refusal(FrameType.UploadCommit, new byte[15]));
        await raw.SendAsync(w => FrameWriter.WriteEmpty(w, FrameType.Ping, 9));
        Assert.Equal(FrameType.Pong, (await raw.ReadFrameAsync()).Header.Type);
    }

    internal static byte[] Frame(FrameType type, byte[] body)
    {
        var frame = new byte[ProtocolConstants.HeaderLength + body.Length];
        new FrameHeader(body.Length, type, 0, 7).Write(frame);
        body.CopyTo(frame, ProtocolConstants.HeaderLength);
        return frame;
    }
}
