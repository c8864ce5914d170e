using System.Buffers;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

/// <summary>The client's side of an upload against a scripted relay: what it sends, and what it does with each answer.</summary>
public class UploadTests
{
    private static readonly UploadId Upload = new(7, 8);

    [Fact]
    public async Task An_upload_is_begun_with_the_content_digest_sent_in_max_size_chunks_at_their_offsets_and_committed()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var chunk = client.MaxUploadChunk;
        var content = Content((2 * chunk) + 5);
        UploadId? reported = null;

        var uploading = client.UploadAttachmentAsync(content, started: id => reported = id);
        var begin = await server.ReadFrameAsync();
        Assert.Equal(FrameType.UploadBegin, begin.Header.Type);
        Assert.Equal(BodyStatus.Ok, BodyReader.ReadUploadBegin(new ReadOnlySequence<byte>(begin.Body), out var declared));
        Assert.Equal((ulong)content.Length, declared.Size);
        Assert.Equal(NSec.Cryptography.HashAlgorithm.Sha256.Hash(content), declared.Sha256.ToArray());
        await server.SendAsync(w => FrameWriter.WriteUploadStarted(w, begin.Header.RequestId, new UploadStartedReply(Upload, (uint)chunk, 2_000_000_000)));

        var received = new List<byte>();
        for (int i = 0; i < 3; i++)
        {
            var frame = await server.ReadFrameAsync();
            Assert.Equal(BodyStatus.Ok, BodyReader.ReadUploadChunk(new ReadOnlySequence<byte>(frame.Body), out var id, out var offset, out var data));
            Assert.Equal((Upload, (ulong)received.Count), (id, offset));
            received.AddRange(data.ToArray());
            await server.SendAsync(w => FrameWriter.WriteUploadProgress(w, frame.Header.RequestId, new UploadProgressReply(Upload, received.Count, content.Length, 2_000_000_000)));
        }

        var commit = await server.ReadFrameAsync();
        Assert.Equal(FrameType.UploadCommit, commit.Header.Type);
        var attachment = AttachmentId.NewRandom();
        await server.SendAsync(w => FrameWriter.WriteAttachmentStored(w, commit.Header.RequestId, new AttachmentStoredReply(attachment, content.Length, 2_000_000_000, "https://relay.example/a/" + attachment)));

        var stored = await uploading.Within();
        Assert.Equal(Upload, reported);
        Assert.Equal(content, received.ToArray());
        Assert.Equal(new AttachmentUploaded(attachment, content.Length, DateTimeOffset.FromUnixTimeSeconds(2_000_000_000), new Uri("https://relay.example/a/" + attachment)), stored);
    }

    [Fact]
    public async Task After_upload_offset_the_client_resumes_and_sends_only_what_the_relay_lacks()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var chunk = client.MaxUploadChunk;
        var content = Content(3 * chunk);

        var uploading = client.UploadAttachmentAsync(content, resume: Upload);
        var resume = await server.ReadFrameAsync();
        Assert.Equal(FrameType.UploadResume, resume.Header.Type);
        await server.SendAsync(w => FrameWriter.WriteUploadProgress(w, resume.Header.RequestId, new UploadProgressReply(Upload, chunk, content.Length, 2_000_000_000)));

        // Another connection of the same RM (an older one, still draining) wrote the second chunk meanwhile.
        var second = await server.ReadFrameAsync();
        var third = await server.ReadFrameAsync();
        await server.ErrorAsync(second.Header.RequestId, ErrorCode.UploadOffset, "the next chunk must start at offset 2 chunks");
        await server.ErrorAsync(third.Header.RequestId, ErrorCode.UploadOffset, "the next chunk must start at offset 2 chunks");
        var again = await server.ReadFrameAsync();
        Assert.Equal(FrameType.UploadResume, again.Header.Type);
        await server.SendAsync(w => FrameWriter.WriteUploadProgress(w, again.Header.RequestId, new UploadProgressReply(Upload, 2L * chunk, content.Length, 2_000_000_000)));
        var last = await server.ReadFrameAsync();
        Assert.Equal(BodyStatus.Ok, BodyReader.ReadUploadChunk(new ReadOnlySequence<byte>(last.Body), out _, out var offset, out var data));
        Assert.Equal((ulong)(2 * chunk), offset);
        Assert.Equal(content[(2 * chunk)..], data.ToArray());
        await server.SendAsync(w => FrameWriter.WriteUploadProgress(w, last.Header.RequestId, new UploadProgressReply(Upload, content.Length, content.Length, 2_000_000_000)));
        var commit = await server.ReadFrameAsync();
        await server.SendAsync(w => FrameWriter.WriteAttachmentStored(w, commit.Header.RequestId, new AttachmentStoredReply(AttachmentId.NewRandom(), content.Length, 2_000_000_000, "http://127.0.0.1:7401/a/AAAAAAAAAAAAAAAAAAAAAA")));

        Assert.Equal(content.Length, (await uploading.Within()).Size);
    }

    [Fact]
    public async Task Resuming_with_other_bytes_than_the_upload_was_begun_for_is_refused_before_sending_any()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();

        var uploading = client.UploadAttachmentAsync(Content(100), resume: Upload);
        var resume = await server.ReadFrameAsync();
        await server.SendAsync(w => FrameWriter.WriteUploadProgress(w, resume.Header.RequestId, new UploadProgressReply(Upload, 0, 101, 2_000_000_000)));

        await Assert.ThrowsAsync<ArgumentException>(() => uploading.Within());
        var ping = client.PingAsync();
        var next = await server.ReadFrameAsync();
        Assert.Equal(FrameType.Ping, next.Header.Type); // no chunk was sent before it
        await server.PongAsync(next.Header.RequestId);
        await ping.Within();
    }

    private static byte[] Content(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }
}
