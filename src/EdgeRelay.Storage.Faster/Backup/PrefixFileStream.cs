namespace EdgeRelay.Storage.Faster;

/// <summary>
/// A read-only view of a file's first <c>dataLength</c> bytes followed by zeros up to <c>length</c>: how a log
/// segment goes into a backup, cut at the commit point while the relay keeps writing past it, and padded to the
/// end of the page that holds the commit point (recovery reads that page whole).
/// </summary>
internal sealed class PrefixFileStream : Stream
{
    private readonly FileStream _file;
    private readonly long _dataLength;
    private readonly long _length;
    private long _position;

    private PrefixFileStream(FileStream file, long dataLength, long length)
    {
        _file = file;
        _dataLength = Math.Min(dataLength, length);
        _length = length;
    }

    public override bool CanRead => true;

    // Seekable only so that a tar writer can ask for the length; reads are sequential.
    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <summary>Opens the file (shared with the writer and with a deleter); null when it does not exist.</summary>
    public static PrefixFileStream? Open(string path, long dataLength, long length)
    {
        try
        {
            return new PrefixFileStream(new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 0 }), dataLength, length);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var remaining = _length - _position;
        if (remaining <= 0 || buffer.IsEmpty)
        {
            return 0;
        }

        buffer = buffer[..(int)Math.Min(buffer.Length, remaining)];
        var n = 0;
        if (_position < _dataLength)
        {
            var want = (int)Math.Min(buffer.Length, _dataLength - _position);
            n = RandomAccess.Read(_file.SafeFileHandle, buffer[..want], _position);
        }

        if (n == 0)
        {
            // Past the data, or past the file's end (a segment FASTER has not written that far): zeros, which
            // recovery reads as "no entry here".
            n = buffer.Length;
            buffer[..n].Clear();
        }

        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        return target == _position ? _position : throw new NotSupportedException("A backup file is read once, in order.");
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }
}
