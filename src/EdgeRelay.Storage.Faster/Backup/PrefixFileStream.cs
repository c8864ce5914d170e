namespace EdgeRelay.Storage.Faster;

/// <summary>
/// A read-only view of a file's first <c>dataLength</c> bytes followed by zeros up to <c>length</c>: how a log
/// segment goes into a backup, cut at the commit point while the relay keeps writing past it, and padded to the
/// end of the page that holds the commit point (recovery reads that page whole).
/// </summary>
internal sealed class PrefixFileStream : SequentialReadStream
{
    private readonly FileStream _file;
    private readonly long _dataLength;
    private readonly long _length;

    private PrefixFileStream(FileStream file, long dataLength, long length)
        : base(length)
    {
        _file = file;
        _dataLength = Math.Min(dataLength, length);
        _length = length;
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
        var remaining = _length - Consumed;
        if (remaining <= 0 || buffer.IsEmpty)
        {
            return 0;
        }

        buffer = buffer[..(int)Math.Min(buffer.Length, remaining)];
        var n = 0;
        if (Consumed < _dataLength)
        {
            var want = (int)Math.Min(buffer.Length, _dataLength - Consumed);
            n = RandomAccess.Read(_file.SafeFileHandle, buffer[..want], Consumed);
        }

        if (n == 0)
        {
            // Past the data, or past the file's end (a segment FASTER has not written that far): zeros, which
            // recovery reads as "no entry here".
            n = buffer.Length;
            buffer[..n].Clear();
        }

        Consumed += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }
}
