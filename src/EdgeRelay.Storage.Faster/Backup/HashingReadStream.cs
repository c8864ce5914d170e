using System.Security.Cryptography;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Reads a backup file for the tar writer, hashing (SHA-256) and counting what passes, so the relay reads each
/// file once. Reports a fixed length (the tar header's size); refuses a source that yields more or fewer bytes,
/// which would make the entry disagree with its header.
/// </summary>
internal sealed class HashingReadStream(Stream source, long length, Action<long>? progress) : SequentialReadStream(length)
{
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public string HashHex() => Consumed == Length
        ? Convert.ToHexStringLower(_sha.GetHashAndReset())
        : throw new IOException($"A backup file was read to {Consumed} of its {Length} bytes.");

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var wanted = (int)Math.Min(buffer.Length, Length - Consumed);
        if (wanted == 0)
        {
            return 0;
        }

        var n = source.Read(buffer[..wanted]);
        if (n == 0)
        {
            throw new IOException($"A backup file ended at {Consumed} of its {Length} bytes (it shrank while it was copied).");
        }

        _sha.AppendData(buffer[..n]);
        Consumed += n;
        progress?.Invoke(Consumed);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var wanted = (int)Math.Min(buffer.Length, Length - Consumed);
        if (wanted == 0)
        {
            return 0;
        }

        var n = await source.ReadAsync(buffer[..wanted], cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            throw new IOException($"A backup file ended at {Consumed} of its {Length} bytes (it shrank while it was copied).");
        }

        _sha.AppendData(buffer.Span[..n]);
        Consumed += n;
        progress?.Invoke(Consumed);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

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
