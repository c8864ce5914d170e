namespace EdgeRelay.Storage;

/// <summary>
/// Where the committed attachments of a service several relay nodes share are kept beside each node's own disk, so
/// that any node serves an attachment another node committed, also once that node and its disk are lost. One machine's
/// relay has none: its attachment store is its disk.
/// </summary>
/// <remarks>
/// An attachment is put once, by the node that commits it, before the uploader is told its URL; it is never changed,
/// and it is gone by itself some time after its <see cref="AttachmentRecord.ExpiresAt"/> (the engine's own age limit).
/// Thread-safe.
/// </remarks>
public interface IAttachmentReplicas
{
    /// <summary>
    /// Stores <paramref name="record"/> and the bytes of <paramref name="content"/> (read from its current position to
    /// its end, <see cref="AttachmentRecord.Size"/> bytes; seekable, so a failed attempt can be made again) where every
    /// node finds them, at the engine's replication, before it returns.
    /// </summary>
    /// <exception cref="IOException">The engine did not store it within its retry window; nothing the uploader was promised depends on it.</exception>
    Task PutAsync(AttachmentRecord record, Stream content, CancellationToken ct = default);

    /// <summary>The record of an attachment any node stored, or null when there is none (never stored, or removed).</summary>
    /// <exception cref="IOException">The engine did not answer.</exception>
    Task<AttachmentRecord?> FindAsync(AttachmentId id, CancellationToken ct = default);

    /// <summary>Writes the bytes of an attachment to <paramref name="destination"/>; false when there is none any more.</summary>
    /// <exception cref="IOException">The engine did not answer, or the bytes are damaged.</exception>
    Task<bool> CopyToAsync(AttachmentId id, Stream destination, CancellationToken ct = default);
}

/// <summary>A committed attachment's record: what serving it needs.</summary>
/// <param name="Sha256">The SHA-256 of its bytes (32 bytes).</param>
/// <param name="Owner">The uploader's account (a token id), empty for none.</param>
public sealed record AttachmentRecord(AttachmentId Id, long Size, byte[] Sha256, DateTimeOffset StoredAt, DateTimeOffset ExpiresAt, string Owner);
