using System.Buffers.Binary;

namespace EdgeRelay.Attachments.Tests;

/// <summary>
/// The metadata records are read back at recovery from whatever is in the store's folder: a time no
/// DateTimeOffset can hold is refused like a torn record, not thrown on (found by fuzzing, target
/// attachment-records).
/// </summary>
public sealed class RecordsTests
{
    private static readonly byte[] Digest = new byte[Records.DigestLength];

    // Offsets of the two time fields (docs in Records): after magic, version, size and digest.
    private const int FirstTime = 45;
    private const int SecondTime = 53;

    [Theory]
    [InlineData(FirstTime, long.MaxValue)] // stored at, unix ms
    [InlineData(FirstTime, long.MinValue)]
    [InlineData(SecondTime, 253_402_300_800)] // expires at, unix s: one past DateTimeOffset.MaxValue
    [InlineData(SecondTime, -62_135_596_801)] // one before DateTimeOffset.MinValue
    public void An_attachment_record_with_a_time_out_of_range_is_refused(int offset, long value)
    {
        var bytes = AttachmentRecord();
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(offset), value);

        Assert.False(Records.TryDecodeAttachment(bytes, new AttachmentId(1, 2), out _));
    }

    [Theory]
    [InlineData(253_402_300_800)]
    [InlineData(long.MinValue)]
    public void An_upload_record_with_a_deadline_out_of_range_is_refused(long deadline)
    {
        var bytes = Records.EncodeUpload(100, Digest, 10, 1_900_000_000, "owner");
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(SecondTime), deadline);

        Assert.False(Records.TryDecodeUpload(bytes, out _, out _, out _, out _, out _));
    }

    [Fact]
    public void The_last_times_a_DateTimeOffset_holds_still_decode()
    {
        var bytes = AttachmentRecord();
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(FirstTime), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(SecondTime), DateTimeOffset.MaxValue.ToUnixTimeSeconds());

        Assert.True(Records.TryDecodeAttachment(bytes, new AttachmentId(1, 2), out var attachment));
        Assert.Equal(DateTimeOffset.MaxValue.ToUnixTimeSeconds(), attachment.ExpiresAt.ToUnixTimeSeconds());
    }

    private static byte[] AttachmentRecord() => Records.EncodeAttachment(new StoredAttachment(new AttachmentId(1, 2), 5, Digest,
        DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000), DateTimeOffset.FromUnixTimeSeconds(1_900_000_000), "owner"));
}
