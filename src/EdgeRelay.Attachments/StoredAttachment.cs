namespace EdgeRelay.Attachments;

/// <summary>A committed attachment: what the HTTP endpoint needs to serve it and what the uploader is told.</summary>
/// <param name="Id">Its unguessable name.</param>
/// <param name="Size">Its length in bytes.</param>
/// <param name="Sha256">The SHA-256 of its bytes, as declared at the upload's start and checked at commit.</param>
/// <param name="StoredAt">When it was committed.</param>
/// <param name="ExpiresAt">When it stops being served (and is removed from disk at the next sweep).</param>
/// <param name="Owner">The uploader's account (a token id), for per-account quotas; empty for none.</param>
public sealed record StoredAttachment(AttachmentId Id, long Size, byte[] Sha256, DateTimeOffset StoredAt, DateTimeOffset ExpiresAt, string Owner)
{
    /// <summary>The strong HTTP entity tag: the digest in lower-case hex, quoted. Same bytes, same tag, on any relay.</summary>
    public string ETag => "\"" + Convert.ToHexStringLower(Sha256) + "\"";
}
