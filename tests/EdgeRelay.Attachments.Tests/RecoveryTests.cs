using System.Buffers;

namespace EdgeRelay.Attachments.Tests;

/// <summary>
/// What a restart finds. A reopened store on the same folder sees the files exactly as the previous one
/// left them; the states a crash can leave between two steps of a commit are made by hand, as the files
/// such a crash leaves.
/// </summary>
public sealed class RecoveryTests
{
    [Fact]
    public async Task A_committed_attachment_survives_a_restart()
    {
        await using var fixture = new StoreFixture();
        var content = StoreFixture.Bytes(5000);
        var attachment = (await fixture.Store.CommitAsync(await fixture.UploadAsync(content))).Attachment!;

        await fixture.ReopenAsync();

        Assert.True(fixture.Store.TryGet(attachment.Id, out var found));
        Assert.Equal(attachment, found with { Sha256 = attachment.Sha256 });
        Assert.Equal(attachment.Sha256, found.Sha256);
        Assert.Equal(content, await fixture.ReadAsync(found));
        Assert.Equal(5000, fixture.Store.UsedBytes);
    }

    [Fact]
    public async Task A_complete_upload_that_was_never_committed_is_not_readable_after_a_restart()
    {
        await using var fixture = new StoreFixture();
        var upload = await fixture.UploadAsync(StoreFixture.Bytes(5000));

        await fixture.ReopenAsync();

        Assert.DoesNotContain(fixture.Files(), f => f.StartsWith("blobs/", StringComparison.Ordinal));
        Assert.Equal(0, fixture.Store.GetStatistics().Attachments);

        // Nothing was made durable by a resume: the upload restarts from 0 rather than trust unsynced bytes.
        var resumed = await fixture.Store.ResumeAsync(upload);
        Assert.Equal(UploadStatus.Ok, resumed.Status);
        Assert.Equal(0, resumed.Received);
        Assert.Equal(0, new FileInfo(Path.Combine(fixture.Folder, "tmp", upload + ".part")).Length);
    }

    [Fact]
    public async Task An_upload_resumes_after_a_restart_from_what_the_last_resume_made_durable_and_no_further()
    {
        await using var fixture = new StoreFixture();
        var content = StoreFixture.Bytes(3000);
        var started = fixture.Store.Begin(3000, StoreFixture.Sha256(content), "rm");
        await fixture.Store.AppendAsync(started.Id, 0, new ReadOnlySequence<byte>(content.AsMemory(0, 1000)));
        Assert.Equal(1000, (await fixture.Store.ResumeAsync(started.Id)).Received);
        await fixture.Store.AppendAsync(started.Id, 1000, new ReadOnlySequence<byte>(content.AsMemory(1000, 1000)));

        await fixture.ReopenAsync();

        var resumed = await fixture.Store.ResumeAsync(started.Id);
        Assert.Equal(1000, resumed.Received);
        Assert.Equal(3000, resumed.Size);
        await fixture.Store.AppendAsync(started.Id, 1000, new ReadOnlySequence<byte>(content.AsMemory(1000)));
        var committed = await fixture.Store.CommitAsync(started.Id);
        Assert.Equal(content, await fixture.ReadAsync(committed.Attachment!));
    }

    [Fact]
    public async Task A_crash_between_the_record_and_the_rename_of_a_commit_leaves_nothing_readable()
    {
        await using var fixture = new StoreFixture();
        var attachment = (await fixture.Store.CommitAsync(await fixture.UploadAsync(StoreFixture.Bytes(500)))).Attachment!;

        // The record was renamed into place, the blob was not: as if the crash came between the two renames.
        File.Delete(Path.Combine(fixture.Folder, "blobs", attachment.Id + ".blob"));
        await fixture.ReopenAsync();

        Assert.False(fixture.Store.TryGet(attachment.Id, out _));
        Assert.Empty(fixture.Files());
        Assert.Equal(0, fixture.Store.UsedBytes);
    }

    [Fact]
    public async Task Leftovers_of_a_crash_are_removed_at_start_and_never_served()
    {
        await using var fixture = new StoreFixture();
        var attachment = (await fixture.Store.CommitAsync(await fixture.UploadAsync(StoreFixture.Bytes(500)))).Attachment!;
        var orphan = AttachmentId.NewRandom();
        var blobs = Path.Combine(fixture.Folder, "blobs");
        var tmp = Path.Combine(fixture.Folder, "tmp");
        File.WriteAllBytes(Path.Combine(blobs, orphan + ".blob"), new byte[10]); // a blob without its record
        File.WriteAllBytes(Path.Combine(blobs, AttachmentId.NewRandom() + ".meta.new"), new byte[10]); // a record being written
        File.WriteAllBytes(Path.Combine(tmp, UploadId.NewRandom() + ".part"), new byte[10]); // a part without its upload's record
        File.WriteAllBytes(Path.Combine(tmp, UploadId.NewRandom() + ".upload"), new byte[3]); // a record that does not parse
        File.WriteAllBytes(Path.Combine(blobs, attachment.Id + ".meta"), new byte[3]); // a damaged record hides its blob

        await fixture.ReopenAsync();

        Assert.False(fixture.Store.TryGet(orphan, out _));
        Assert.False(fixture.Store.TryGet(attachment.Id, out _));
        Assert.Empty(fixture.Files());
    }

    [Fact]
    public async Task Expired_attachments_and_stale_uploads_are_removed_at_start()
    {
        await using var fixture = new StoreFixture();
        await fixture.Store.CommitAsync(await fixture.UploadAsync(StoreFixture.Bytes(500)));
        var stale = await fixture.UploadAsync(StoreFixture.Bytes(500));
        await fixture.Store.DisposeAsync();
        fixture.Clock.Advance(fixture.Options.Expiry);

        await fixture.ReopenAsync();

        Assert.Empty(fixture.Files());
        Assert.Equal(UploadStatus.Unknown, (await fixture.Store.ResumeAsync(stale)).Status);
        Assert.Equal(0, fixture.Store.UsedBytes);
    }
}
