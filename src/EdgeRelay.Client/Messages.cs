using EdgeRelay.Addressing;

namespace EdgeRelay.Client;

/// <summary>A long-term address just issued by the relay.</summary>
public sealed record CreatedAddress(AddressCard Card, DateTimeOffset ExpiresAt)
{
    public AddressId Id => Card.Aid;
}

/// <summary>A message returned by PULL. <see cref="Id"/> is stable: acknowledge it, de-duplicate by it.</summary>
public sealed record ReceivedMessage(long Id, DateTimeOffset ReceivedAt, ReadOnlyMemory<byte> Ciphertext);

/// <summary>The result of one PULL: the messages, and whether more are waiting.</summary>
public sealed record PullResult(IReadOnlyList<ReceivedMessage> Messages, bool More);

/// <summary>An upload begun: its handle (keep it to resume on another connection), the largest chunk the relay reads, and its deadline without progress.</summary>
public sealed record UploadStarted(UploadId Upload, int MaxChunk, DateTimeOffset ExpiresAt);

/// <summary>Bytes the relay holds of an upload, from offset 0 (after a resume: durably), of its declared size.</summary>
public sealed record UploadProgress(UploadId Upload, long Received, long Size, DateTimeOffset ExpiresAt);

/// <summary>A committed attachment: the URL recipients download it from (until <see cref="ExpiresAt"/>).</summary>
public sealed record AttachmentUploaded(AttachmentId Id, long Size, DateTimeOffset ExpiresAt, Uri Uri);
