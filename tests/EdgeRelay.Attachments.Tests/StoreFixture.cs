using System.Buffers;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using Microsoft.Extensions.Time.Testing;
using NSec.Cryptography;

namespace EdgeRelay.Attachments.Tests;

/// <summary>A store in a temporary folder on a fake clock, reopened on the same folder as a restart would.</summary>
internal sealed class StoreFixture : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("edgerelay-attach");

    private readonly IAttachmentReplicas? _replicas;

    /// <param name="replicas">A cluster's attachment replicas, which this store puts to and fetches from.</param>
    public StoreFixture(AttachmentStoreOptions? options = null, IAttachmentReplicas? replicas = null)
    {
        Options = options ?? new AttachmentStoreOptions { MaxBytes = 1 << 20, MaxDiskBytes = 4 << 20 };
        _replicas = replicas;
        Store = AttachmentStore.Open(_directory.Path, Options, Clock, replicas: replicas);
    }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    public AttachmentStoreOptions Options { get; }

    public AttachmentStore Store { get; private set; }

    public string Folder => _directory.Path;

    public static byte[] Bytes(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static byte[] Sha256(ReadOnlySpan<byte> bytes) => HashAlgorithm.Sha256.Hash(bytes);

    /// <summary>What a restart sees: a new store on the same folder (the old one's files as they are).</summary>
    public async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Store = AttachmentStore.Open(_directory.Path, Options, Clock, replicas: _replicas);
    }

    /// <summary>Uploads <paramref name="content"/> in chunks of <paramref name="chunk"/> bytes, without committing.</summary>
    public async Task<UploadId> UploadAsync(byte[] content, int chunk = 1000, string owner = "rm")
    {
        var started = Store.Begin(content.Length, Sha256(content), owner);
        Assert.Equal(UploadStatus.Ok, started.Status);
        for (int offset = 0; offset < content.Length; offset += chunk)
        {
            var part = content.AsMemory(offset, Math.Min(chunk, content.Length - offset));
            var state = await Store.AppendAsync(started.Id, offset, new ReadOnlySequence<byte>(part));
            Assert.Equal(UploadStatus.Ok, state.Status);
        }

        return started.Id;
    }

    public async Task<byte[]> ReadAsync(StoredAttachment attachment)
    {
        await using var stream = Store.OpenRead(attachment) ?? throw new FileNotFoundException("The attachment's blob is gone.");
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>Every file under the store's folder, relative paths.</summary>
    public string[] Files() => Directory.GetFiles(Folder, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(Folder, p)).Order().ToArray();

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        _directory.Dispose();
    }
}
