using System.Security.Cryptography;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Reads a backup file for the tar writer, hashing (SHA-256) and counting what passes, so the relay reads each
/// file once. Reports a fixed length (the tar header's size); refuses a source that yields more or fewer bytes,
/// which would make the entry disagree with its header.
/// </summary>
internal sealed class HashingReadStream(Stream source, long length, Action<long>? progress) : Stream
{
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public string HashHex() => _position == length
        ? Convert.ToHexStringLower(_sha.GetHashAndReset())
        : throw new IOException($"A backup file was read to {_position} of its {length} bytes.");

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var wanted = (int)Math.Min(buffer.Length, length - _position);
        if (wanted == 0)
        {
            return 0;
        }

        var n = source.Read(buffer[..wanted]);
        if (n == 0)
        {
            throw new IOException($"A backup file ended at {_position} of its {length} bytes (it shrank while it was copied).");
        }

        _sha.AppendData(buffer[..n]);
        _position += n;
        progress?.Invoke(_position);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var wanted = (int)Math.Min(buffer.Length, length - _position);
        if (wanted == 0)
        {
            return 0;
        }

        var n = await source.ReadAsync(buffer[..wanted], cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            throw new IOException($"A backup file ended at {_position} of its {length} bytes (it shrank while it was copied).");
        }

        _sha.AppendData(buffer.Span[..n]);
        _position += n;
        progress?.Invoke(_position);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
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
            source.Dispose();
            _sha.Dispose();
        }

        base.Dispose(disposing);
    }
}
