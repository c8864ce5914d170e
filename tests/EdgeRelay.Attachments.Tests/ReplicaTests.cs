using EdgeRelay.Storage;

namespace EdgeRelay.Attachments.Tests;

/// <summary>
/// Attachments on a relay cluster: a commit puts the attachment where every node finds it before it is committed, a
/// put that fails leaves the upload to commit again, and another node serves it from there without keeping it.
/// </summary>
public sealed class ReplicaTests
{
    [Fact]
    public async Task A_committed_attachment_is_put_first_and_another_node_serves_it_from_a_file_gone_once_read()
    {
        var replicas = new InMemoryReplicas();
        await using var a = new StoreFixture(replicas: replicas);
        await using var b = new StoreFixture(replicas: replicas);
        var content = StoreFixture.Bytes(5_000);

        var committed = (await a.Store.CommitAsync(await a.UploadAsync(content))).Attachment!;
        var record = Assert.Single(replicas.Records);
        Assert.Equal((committed.Id, committed.Size, committed.StoredAt, committed.ExpiresAt, committed.Owner), (record.Id, record.Size, record.StoredAt, record.ExpiresAt, record.Owner));
        Assert.Equal(committed.Sha256, record.Sha256);

        Assert.False(b.Store.TryGet(committed.Id, out _));
        var (attachment, stream) = (await b.Store.FetchAsync(committed.Id))!.Value;
        await using (stream)
        {
            Assert.Equal(committed.ETag, attachment.ETag);
            Assert.Equal(committed.ExpiresAt, attachment.ExpiresAt);
            var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.Equal(content, copy.ToArray());
            Assert.Single(b.Files(), f => f.StartsWith("tmp/", StringComparison.Ordinal));
        }

        Assert.Empty(b.Files()); // not kept: B's budget and the uploader's quota there count nothing
        Assert.Equal(0, b.Store.UsedBytes);
    }

    [Fact]
    public async Task A_commit_whose_put_fails_is_refused_and_the_upload_stays_whole_to_commit_again()
    {
        var replicas = new InMemoryReplicas { FailPuts = true };
        await using var a = new StoreFixture(replicas: replicas);
        var content = StoreFixture.Bytes(3_000);
        var upload = await a.UploadAsync(content);

        var refused = await a.Store.CommitAsync(upload);

        Assert.Equal((UploadStatus.NotReplicated, 3_000L), (refused.Status, refused.Received));
        Assert.Null(refused.Attachment);
        Assert.Empty(replicas.Records);
        Assert.DoesNotContain(a.Files(), f => f.StartsWith("blobs/", StringComparison.Ordinal));
        Assert.Equal(3_000, (await a.Store.ResumeAsync(upload)).Received);

        replicas.FailPuts = false;
        var committed = await a.Store.CommitAsync(upload);
        Assert.Equal(UploadStatus.Ok, committed.Status);
        Assert.Equal(committed.Attachment!.Id, Assert.Single(replicas.Records).Id);
        Assert.Equal(content, await a.ReadAsync(committed.Attachment));
    }

    [Fact]
    public async Task An_unknown_or_expired_attachment_is_not_fetched_nor_is_any_without_replicas()
    {
        var replicas = new InMemoryReplicas();
        await using var a = new StoreFixture(replicas: replicas);
        await using var b = new StoreFixture(replicas: replicas);
        await using var alone = new StoreFixture();
        var committed = (await a.Store.CommitAsync(await a.UploadAsync(StoreFixture.Bytes(100)))).Attachment!;

        Assert.Null(await b.Store.FetchAsync(AttachmentId.NewRandom()));
        Assert.Null(await alone.Store.FetchAsync(committed.Id));

        b.Clock.Advance(b.Options.Expiry);
        Assert.Null(await b.Store.FetchAsync(committed.Id));
        Assert.Empty(b.Files());
    }

    [Fact]
    public async Task A_read_the_cluster_fails_midway_or_cuts_short_is_an_error_not_a_miss_and_leaves_no_temporary_file()
    {
        var replicas = new InMemoryReplicas();
        await using var a = new StoreFixture(replicas: replicas);
        await using var b = new StoreFixture(replicas: replicas);
        var committed = (await a.Store.CommitAsync(await a.UploadAsync(StoreFixture.Bytes(2_000)))).Attachment!;

        replicas.CopyFault = CopyFault.FailMidway;
        await Assert.ThrowsAsync<IOException>(() => b.Store.FetchAsync(committed.Id));
        Assert.Empty(b.Files());

        replicas.CopyFault = CopyFault.CutShort;
        await Assert.ThrowsAsync<IOException>(() => b.Store.FetchAsync(committed.Id));
        Assert.Empty(b.Files());

        // Each fetch, failed or not, gave its place back: as many as the limit can run again.
        replicas.CopyFault = CopyFault.None;
        var fetched = new List<FileStream>();
        for (var i = 0; i < AttachmentStore.MaxConcurrentFetches; i++)
        {
            fetched.Add((await b.Store.FetchAsync(committed.Id))!.Value.Content);
        }

        await Assert.ThrowsAsync<IOException>(() => b.Store.FetchAsync(committed.Id)); // 16 copies held open: no 17th
        foreach (var file in fetched)
        {
            await file.DisposeAsync();
        }

        Assert.Empty(b.Files());
        await (await b.Store.FetchAsync(committed.Id))!.Value.Content.DisposeAsync(); // closed ones gave their places back
    }

    private enum CopyFault
    {
        None,
        FailMidway,
        CutShort,
    }

    /// <summary>The replicas of a cluster in memory; puts fail with an <see cref="IOException"/> while <see cref="FailPuts"/> is set.</summary>
    private sealed class InMemoryReplicas : IAttachmentReplicas
    {
        private readonly Dictionary<AttachmentId, (AttachmentRecord Record, byte[] Bytes)> _objects = [];

        public bool FailPuts { get; set; }

        public CopyFault CopyFault { get; set; }

        public AttachmentRecord[] Records
        {
            get
            {
                lock (_objects)
                {
                    return [.. _objects.Values.Select(o => o.Record)];
                }
            }
        }

        public async Task PutAsync(AttachmentRecord record, Stream content, CancellationToken ct = default)
        {
            if (FailPuts)
            {
                throw new IOException("the cluster did not answer");
            }

            var copy = new MemoryStream();
            await content.CopyToAsync(copy, ct);
            Assert.Equal(record.Size, copy.Length);
            lock (_objects)
            {
                _objects[record.Id] = (record, copy.ToArray());
            }
        }

        public Task<AttachmentRecord?> FindAsync(AttachmentId id, CancellationToken ct = default)
        {
            lock (_objects)
            {
                return Task.FromResult(_objects.TryGetValue(id, out var o) ? o.Record : null);
            }
        }

        public async Task<bool> CopyToAsync(AttachmentId id, Stream destination, CancellationToken ct = default)
        {
            byte[] bytes;
            lock (_objects)
            {
                if (!_objects.TryGetValue(id, out var o))
                {
                    return false;
                }

                bytes = o.Bytes;
            }

            await destination.WriteAsync(bytes.AsMemory(0, CopyFault == CopyFault.None ? bytes.Length : bytes.Length / 2), ct);
            if (CopyFault == CopyFault.FailMidway)
            {
                throw new IOException("the cluster stopped answering");
            }

            return true;
        }
    }
}
