using System.Buffers;

namespace EdgeRelay.Attachments.Tests;

public sealed class UploadTests
{
    [Fact]
    public async Task Chunks_in_order_then_commit_store_the_exact_bytes_under_a_fresh_id()
    {
        await using var fixture = new StoreFixture();
        var content = StoreFixture.Bytes(10_000);

        var upload = await fixture.UploadAsync(content, chunk: 3000);
        var committed = await fixture.Store.CommitAsync(upload);

        Assert.Equal(UploadStatus.Ok, committed.Status);
        var attachment = committed.Attachment!;
        Assert.True(fixture.Store.TryGet(attachment.Id, out var found));
        Assert.Equal(content, await fixture.ReadAsync(found));
        Assert.Equal(10_000, attachment.Size);
        Assert.Equal("\"" + Convert.ToHexStringLower(StoreFixture.Sha256(content)) + "\"", attachment.ETag);
        Assert.Equal(fixture.Clock.GetUtcNow() + fixture.Options.Expiry, attachment.ExpiresAt);
        Assert.Equal([$"blobs/{attachment.Id}.blob", $"blobs/{attachment.Id}.meta"], fixture.Files());
    }

    [Fact]
    public async Task Two_uploads_of_the_same_bytes_get_different_ids()
    {
        await using var fixture = new StoreFixture();
        var content = StoreFixture.Bytes(100);

        var first = await fixture.Store.CommitAsync(await fixture.UploadAsync(content));
        var second = await fixture.Store.CommitAsync(await fixture.UploadAsync(content));

        Assert.NotEqual(first.Attachment!.Id, second.Attachment!.Id);
        Assert.Equal(first.Attachment.ETag, second.Attachment.ETag);
    }

    [Fact]
    public async Task A_chunk_not_at_the_received_offset_or_past_the_size_is_refused_and_changes_nothing()
    {
        await using var fixture = new StoreFixture();
        var content = StoreFixture.Bytes(100);
        var started = fixture.Store.Begin(100, StoreFixture.Sha256(content), "rm");
        await fixture.Store.AppendAsync(started.Id, 0, new ReadOnlySequence<byte>(content.AsMemory(0, 40)));

        var behind = await fixture.Store.AppendAsync(started.Id, 0, new ReadOnlySequence<byte>(content.AsMemory(0, 40)));
        var ahead = await fixture.Store.AppendAsync(started.Id, 50, new ReadOnlySequence<byte>(content.AsMemory(50, 10)));
        var past = await fixture.Store.AppendAsync(started.Id, 40, new ReadOnlySequence<byte>(new byte[61]));

        Assert.All([behind, ahead, past], s => Assert.Equal(UploadStatus.WrongOffset, s.Status));
        Assert.All([behind, ahead, past], s => Assert.Equal(40, s.Received));
        var rest = await fixture.Store.AppendAsync(started.Id, 40, new ReadOnlySequence<byte>(content.AsMemory(40)));
        Assert.Equal(100, rest.Received);
        var committed = await fixture.Store.CommitAsync(started.Id);
        Assert.Equal(content, await fixture.ReadAsync(committed.Attachment!));
    }

    [Fact]
    public async Task A_chunk_spanning_several_segments_is_written_in_order()
    {
        await using var fixture = new StoreFixture();
        var content = StoreFixture.Bytes(300);
        var started = fixture.Store.Begin(300, StoreFixture.Sha256(content), "rm");

        await fixture.Store.AppendAsync(started.Id, 0, Segments.Of(content, 7));
        var committed = await fixture.Store.CommitAsync(started.Id);

        Assert.Equal(content, await fixture.ReadAsync(committed.Attachment!));
    }

    [Fact]
    public async Task Commit_before_the_last_byte_is_refused_and_the_upload_goes_on()
    {
        await using var fixture = new StoreFixture();
        var content = StoreFixture.Bytes(100);
        var started = fixture.Store.Begin(100, StoreFixture.Sha256(content), "rm");
        await fixture.Store.AppendAsync(started.Id, 0, new ReadOnlySequence<byte>(content.AsMemory(0, 99)));

        var early = await fixture.Store.CommitAsync(started.Id);

        Assert.Equal(UploadStatus.Incomplete, early.Status);
        Assert.Equal(99, early.Received);
        Assert.DoesNotContain(fixture.Files(), f => f.StartsWith("blobs/", StringComparison.Ordinal));
        await fixture.Store.AppendAsync(started.Id, 99, new ReadOnlySequence<byte>(content.AsMemory(99)));
        Assert.Equal(UploadStatus.Ok, (await fixture.Store.CommitAsync(started.Id)).Status);
    }

    [Fact]
    public async Task Bytes_that_do_not_match_the_declared_digest_are_dropped_and_never_readable()
    {
        await using var fixture = new StoreFixture();
        var content = StoreFixture.Bytes(100);
        var started = fixture.Store.Begin(100, StoreFixture.Sha256(StoreFixture.Bytes(100, seed: 2)), "rm");
        await fixture.Store.AppendAsync(started.Id, 0, new ReadOnlySequence<byte>(content));

        var committed = await fixture.Store.CommitAsync(started.Id);

        Assert.Equal(UploadStatus.DigestMismatch, committed.Status);
        Assert.Null(committed.Attachment);
        Assert.Empty(fixture.Files());
        Assert.Equal(0, fixture.Store.UsedBytes);
        Assert.Equal(UploadStatus.Unknown, (await fixture.Store.ResumeAsync(started.Id)).Status);
    }

    [Fact]
    public async Task A_committed_upload_is_no_longer_an_upload()
    {
        await using var fixture = new StoreFixture();
        var upload = await fixture.UploadAsync(StoreFixture.Bytes(10));
        await fixture.Store.CommitAsync(upload);

        Assert.Equal(UploadStatus.Unknown, (await fixture.Store.CommitAsync(upload)).Status);
        Assert.Equal(UploadStatus.Unknown, (await fixture.Store.AppendAsync(upload, 10, new ReadOnlySequence<byte>(new byte[1]))).Status);
        Assert.Equal(UploadStatus.Unknown, (await fixture.Store.ResumeAsync(UploadId.NewRandom())).Status);
    }

    [Fact]
    public async Task A_declared_size_over_the_maximum_is_refused_before_anything_is_written()
    {
        await using var fixture = new StoreFixture();

        var refused = fixture.Store.Begin(fixture.Store.MaxBytes + 1, new byte[32], "rm");
        var largest = fixture.Store.Begin(fixture.Store.MaxBytes, new byte[32], "rm");

        Assert.Equal(UploadStatus.TooLarge, refused.Status);
        Assert.Equal(UploadStatus.Ok, largest.Status);
        Assert.Equal(2, fixture.Files().Length); // the one upload's part and record
    }
}
