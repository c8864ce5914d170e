namespace EdgeRelay.Protocol;

// Body layouts of the attachment upload frames (docs/PROTOCOL.md 4.15).

/// <summary>UPLOAD_BEGIN: the whole ciphertext's size and SHA-256, declared before any byte is sent.</summary>
public readonly record struct UploadBeginRequest(ulong Size, ReadOnlyMemory<byte> Sha256)
{
    public const int DigestLength = 32;

    public const int Length = 8 + DigestLength;
}

/// <summary>UPLOAD_STARTED: the upload's handle, the largest chunk the relay reads, and when the upload lapses without progress.</summary>
public readonly record struct UploadStartedReply(UploadId Upload, uint MaxChunk, long ExpiresAtUnixSeconds)
{
    public const int Length = UploadId.Length + 4 + 8;
}

/// <summary>UPLOAD_CHUNK: bytes at an offset of an upload; the data is a slice of the request body.</summary>
public static class UploadChunk
{
    /// <summary>upload id (16), offset u64: what precedes the data.</summary>
    public const int HeaderLength = UploadId.Length + 8;

    /// <summary>The largest chunk that fits in a request body of <paramref name="maxRequestBody"/> bytes.</summary>
    public static int MaxData(int maxRequestBody) => maxRequestBody - HeaderLength;
}

/// <summary>UPLOAD_PROGRESS: bytes received so far (after UPLOAD_RESUME: durable), the declared size, and the upload's deadline.</summary>
public readonly record struct UploadProgressReply(UploadId Upload, long Received, long Size, long ExpiresAtUnixSeconds)
{
    public const int Length = UploadId.Length + 8 + 8 + 8;
}

/// <summary>ATTACHMENT_STORED: the attachment's id, size, expiry and the URL it is served at.</summary>
public readonly record struct AttachmentStoredReply(AttachmentId Attachment, long Size, long ExpiresAtUnixSeconds, string Uri)
{
    public const int FixedLength = AttachmentId.Length + 8 + 8 + 2;

    /// <summary>A URL longer than this is a configuration mistake, refused at start-up.</summary>
    public const int MaxUriBytes = 2048;
}
