namespace EdgeRelay.Attachments;

/// <summary>An upload in progress. Every field but the identity is read and changed under <see cref="Gate"/>.</summary>
internal sealed class Upload
{
    public Upload(UploadId id, long size, byte[] sha256, string owner, string directory)
    {
        Id = id;
        Size = size;
        Sha256 = sha256;
        Owner = owner;
        PartPath = Path.Combine(directory, id + AttachmentStore.PartExtension);
        RecordPath = Path.Combine(directory, id + AttachmentStore.UploadExtension);
    }

    public UploadId Id { get; }

    public long Size { get; }

    public byte[] Sha256 { get; }

    public string Owner { get; }

    /// <summary>The ciphertext received so far; never served, removed or renamed away whole.</summary>
    public string PartPath { get; }

    /// <summary>The upload's record: size, digest, durable length, deadline (so that it survives a restart).</summary>
    public string RecordPath { get; }

    /// <summary>One operation at a time: chunks, resume, commit and the sweep never interleave on one upload.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Bytes written in order from offset 0.</summary>
    public long Received { get; set; }

    /// <summary>Bytes known to be on disk (fsynced and recorded): what a restart resumes from.</summary>
    public long Durable { get; set; }

    public DateTimeOffset Deadline { get; set; }

    /// <summary>Committed, dropped or expired: its files are gone or belong to an attachment now.</summary>
    public bool Ended { get; set; }
}
