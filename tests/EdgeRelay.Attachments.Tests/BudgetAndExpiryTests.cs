using System.Buffers;

namespace EdgeRelay.Attachments.Tests;

public sealed class BudgetAndExpiryTests
{
    /// <summary>A sweep timer that never fires within these tests, so that each test calls the sweep it checks.</summary>
    private static readonly AttachmentStoreOptions ExplicitSweepOnly = new() { SweepInterval = TimeSpan.FromDays(30) };

    [Fact]
    public async Task The_budget_counts_declared_sizes_of_uploads_and_blobs_and_refuses_past_it()
    {
        await using var fixture = new StoreFixture(new AttachmentStoreOptions { MaxBytes = 1000, MaxDiskBytes = 2500 });
        var stored = await fixture.Store.CommitAsync(await fixture.UploadAsync(StoreFixture.Bytes(1000)));
        var reserved = fixture.Store.Begin(1000, new byte[32], "rm");

        var refused = fixture.Store.Begin(501, new byte[32], "rm");
        var fits = fixture.Store.Begin(500, new byte[32], "rm");

        Assert.Equal(UploadStatus.Ok, stored.Status);
        Assert.Equal(UploadStatus.Ok, reserved.Status);
        Assert.Equal(UploadStatus.OverBudget, refused.Status);
        Assert.Equal(UploadStatus.Ok, fits.Status);
        Assert.Equal(2500, fixture.Store.UsedBytes);
        Assert.Equal(new AttachmentStatistics(1, 1000, 2, 1500, 3, 1, 0, 0, 1000), fixture.Store.GetStatistics());
    }

    [Fact]
    public async Task An_owner_quota_refuses_that_owner_only()
    {
        await using var fixture = new StoreFixture();
        Assert.Equal(UploadStatus.Ok, fixture.Store.Begin(600, new byte[32], "a", ownerQuota: 1000).Status);

        Assert.Equal(UploadStatus.OverOwnerQuota, fixture.Store.Begin(401, new byte[32], "a", ownerQuota: 1000).Status);
        Assert.Equal(UploadStatus.Ok, fixture.Store.Begin(401, new byte[32], "b", ownerQuota: 1000).Status);
        Assert.Equal(600, fixture.Store.UsedBytesOf("a"));
        Assert.Equal(401, fixture.Store.UsedBytesOf("b"));
    }

    [Fact]
    public async Task Uploads_in_progress_are_bounded_per_owner_and_in_all_and_an_ended_one_makes_room()
    {
        await using var fixture = new StoreFixture(new AttachmentStoreOptions { MaxOpenUploads = 5, MaxOpenUploadsPerOwner = 3, SweepInterval = TimeSpan.FromDays(30) });

        // One-byte uploads: the disk budget would take millions, the counts stop them.
        var a = Enumerable.Range(0, 3).Select(_ => fixture.Store.Begin(1, new byte[32], "a")).ToArray();
        Assert.All(a, s => Assert.Equal(UploadStatus.Ok, s.Status));
        Assert.Equal(UploadStatus.TooManyOwnerUploads, fixture.Store.Begin(1, new byte[32], "a").Status);
        Assert.Equal(UploadStatus.Ok, fixture.Store.Begin(1, new byte[32], "b").Status);
        Assert.Equal(UploadStatus.Ok, fixture.Store.Begin(1, new byte[32], "b").Status);
        Assert.Equal(UploadStatus.TooManyUploads, fixture.Store.Begin(1, new byte[32], "c").Status);
        Assert.Equal(5, fixture.Store.GetStatistics().UploadsInProgress);

        // A dropped upload ends (a bad digest), and so does a committed one: each makes room for one more.
        Assert.Equal(UploadStatus.Ok, (await fixture.Store.AppendAsync(a[0].Id, 0, new ReadOnlySequence<byte>(new byte[1]))).Status);
        Assert.Equal(UploadStatus.DigestMismatch, (await fixture.Store.CommitAsync(a[0].Id)).Status);
        var upload = await fixture.UploadAsync(StoreFixture.Bytes(10), owner: "a");
        Assert.Equal(UploadStatus.Ok, (await fixture.Store.CommitAsync(upload)).Status);
        Assert.Equal(UploadStatus.Ok, fixture.Store.Begin(1, new byte[32], "a").Status);
        Assert.Equal(UploadStatus.TooManyUploads, fixture.Store.Begin(1, new byte[32], "d").Status);

        // Uploads that time out end as well, and a restart counts the ones still in progress.
        fixture.Clock.Advance(fixture.Options.UploadTimeout);
        Assert.Equal(5, fixture.Store.Sweep());
        Assert.Equal(UploadStatus.Ok, fixture.Store.Begin(1, new byte[32], "a").Status);
        Assert.Equal(UploadStatus.Ok, fixture.Store.Begin(1, new byte[32], "a").Status);
        Assert.Equal(UploadStatus.Ok, fixture.Store.Begin(1, new byte[32], "a").Status);
        await fixture.ReopenAsync();
        Assert.Equal(UploadStatus.TooManyOwnerUploads, fixture.Store.Begin(1, new byte[32], "a").Status);
        Assert.Equal(UploadStatus.Ok, fixture.Store.Begin(1, new byte[32], "b").Status);
    }

    [Fact]
    public async Task An_attachment_is_served_until_its_expiry_then_swept_and_its_bytes_released()
    {
        await using var fixture = new StoreFixture(ExplicitSweepOnly);
        var attachment = (await fixture.Store.CommitAsync(await fixture.UploadAsync(StoreFixture.Bytes(1000)))).Attachment!;

        fixture.Clock.Advance(fixture.Options.Expiry - TimeSpan.FromSeconds(1));
        Assert.True(fixture.Store.TryGet(attachment.Id, out _));
        fixture.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(fixture.Store.TryGet(attachment.Id, out _));

        Assert.Equal(1, fixture.Store.Sweep());
        Assert.Empty(fixture.Files());
        Assert.Equal(0, fixture.Store.UsedBytes);
        Assert.Equal(1, fixture.Store.GetStatistics().AttachmentsExpired);
    }

    [Fact]
    public async Task The_sweep_runs_by_itself_on_the_clock()
    {
        await using var fixture = new StoreFixture();
        await fixture.Store.CommitAsync(await fixture.UploadAsync(StoreFixture.Bytes(10)));

        fixture.Clock.Advance(fixture.Options.Expiry + fixture.Options.SweepInterval);

        Assert.Empty(fixture.Files());
    }

    [Fact]
    public async Task An_upload_without_progress_for_the_timeout_is_dropped_with_its_files()
    {
        await using var fixture = new StoreFixture(ExplicitSweepOnly);
        var content = StoreFixture.Bytes(100);
        var started = fixture.Store.Begin(100, StoreFixture.Sha256(content), "rm");
        Assert.Equal(fixture.Clock.GetUtcNow() + fixture.Options.UploadTimeout, started.ExpiresAt);

        // Progress moves the deadline.
        fixture.Clock.Advance(fixture.Options.UploadTimeout - TimeSpan.FromSeconds(1));
        var progress = await fixture.Store.AppendAsync(started.Id, 0, new ReadOnlySequence<byte>(content.AsMemory(0, 50)));
        Assert.Equal(fixture.Clock.GetUtcNow() + fixture.Options.UploadTimeout, progress.ExpiresAt);
        fixture.Clock.Advance(fixture.Options.UploadTimeout - TimeSpan.FromSeconds(1));
        Assert.Equal(0, fixture.Store.Sweep());

        fixture.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, fixture.Store.Sweep());

        Assert.Empty(fixture.Files());
        Assert.Equal(0, fixture.Store.UsedBytes);
        Assert.Equal(1, fixture.Store.GetStatistics().UploadsExpired);
        Assert.Equal(UploadStatus.Unknown, (await fixture.Store.AppendAsync(started.Id, 50, new ReadOnlySequence<byte>(content.AsMemory(50)))).Status);
    }

    [Fact]
    public async Task An_expired_upload_the_sweep_has_not_reached_is_unknown_already()
    {
        await using var fixture = new StoreFixture(ExplicitSweepOnly);
        var upload = await fixture.UploadAsync(StoreFixture.Bytes(100));

        fixture.Clock.Advance(fixture.Options.UploadTimeout);

        Assert.Equal(UploadStatus.Unknown, (await fixture.Store.CommitAsync(upload)).Status);
        Assert.Empty(fixture.Files());
        Assert.Equal(0, fixture.Store.UsedBytes);
    }
}
