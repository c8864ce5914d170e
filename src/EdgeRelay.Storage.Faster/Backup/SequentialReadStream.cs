namespace EdgeRelay.Storage.Faster;

/// <summary>
/// A read-only stream of a known length read once, front to back: what a backup file is to the tar writer. It
/// says it can seek only so that the writer may ask for its length; a seek anywhere but where it stands is refused.
/// </summary>
internal abstract class SequentialReadStream(long length) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => Consumed;
        set => throw new NotSupportedException();
    }

    /// <summary>Bytes read so far.</summary>
    protected long Consumed { get; set; }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Consumed + offset,
            _ => length + offset,
        };
        return target == Consumed ? Consumed : throw new NotSupportedException("A backup file is read once, in order.");
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
