using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace EdgeRelay.Storage;

/// <summary>
/// The address registry as of a log address X: every address record below X is reflected in it,
/// none at or above X. Recovery loads it, then replays address records from X on, which lets the log
/// head move past old address records.
/// </summary>
/// <remarks>
/// Layout (integers big-endian):
/// <code>
/// magic "ERADDRS1"[8]  version:u32 = 1  reserved:u32 = 0  coveredAddress:i64  count:i64
/// count × ( aid[16] ownerKey[32] createdAt:i64 expiresAt:i64 revokedAt:i64 (0 = not revoked) )
/// sha256[32] over everything before it
/// </code>
/// Written to a temporary file, fsynced, renamed over the old one, then the directory is fsynced, so
/// the file is always the old or the new snapshot, whole, and the rename is durable before the caller
/// truncates the log on the strength of it. SHA-256 is the checksum because it is in the base library
/// (a CRC would need another package) and runs at GB/s, far above what a snapshot needs.
/// </remarks>
internal static class AddressSnapshot
{
    public const string FileName = "addresses.snapshot";
    public const string TempFileName = FileName + ".tmp";
    public const int Version = 1;

    private const int HeaderSize = 8 + 4 + 4 + 8 + 8;
    private const int EntrySize = AddressId.Length + AddressInfo.OwnerPublicKeyLength + 8 + 8 + 8;
    private const int HashSize = 32;
    private const int ChunkEntries = 1024;

    private static ReadOnlySpan<byte> Magic => "ERADDRS1"u8;

    /// <summary>Writes the snapshot durably and returns its size in bytes.</summary>
    public static long Write(string directory, long coveredAddress, IReadOnlyList<AddressInfo> addresses)
    {
        var path = Path.Combine(directory, FileName);
        var temp = Path.Combine(directory, TempFileName);
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkEntries * EntrySize);
        try
        {
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                Span<byte> header = stackalloc byte[HeaderSize];
                Magic.CopyTo(header);
                BinaryPrimitives.WriteUInt32BigEndian(header[8..], Version);
                BinaryPrimitives.WriteUInt32BigEndian(header[12..], 0);
                BinaryPrimitives.WriteInt64BigEndian(header[16..], coveredAddress);
                BinaryPrimitives.WriteInt64BigEndian(header[24..], addresses.Count);
                hash.AppendData(header);
                file.Write(header);

                var filled = 0;
                foreach (var info in addresses)
                {
                    WriteEntry(chunk.AsSpan(filled, EntrySize), info);
                    filled += EntrySize;
                    if (filled == ChunkEntries * EntrySize)
                    {
                        hash.AppendData(chunk, 0, filled);
                        file.Write(chunk, 0, filled);
                        filled = 0;
                    }
                }

                hash.AppendData(chunk, 0, filled);
                file.Write(chunk, 0, filled);

                Span<byte> digest = stackalloc byte[HashSize];
                hash.GetHashAndReset(digest);
                file.Write(digest);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            DirectorySync.Flush(directory);
            return HeaderSize + ((long)addresses.Count * EntrySize) + HashSize;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>
    /// Loads the snapshot; false if there is none. A snapshot that exists but is not whole and valid
    /// throws <see cref="InvalidDataException"/>: starting without it would silently lose addresses.
    /// </summary>
    public static bool TryRead(string directory, out long coveredAddress, out List<AddressInfo> addresses)
    {
        var path = Path.Combine(directory, FileName);
        coveredAddress = 0;
        addresses = [];
        if (!File.Exists(path))
        {
            return false;
        }

        var chunk = ArrayPool<byte>.Shared.Rent(ChunkEntries * EntrySize);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            var length = file.Length;
            if (length < HeaderSize + HashSize)
            {
                throw Corrupt(path, $"{length} bytes is shorter than header and checksum");
            }

            Span<byte> header = stackalloc byte[HeaderSize];
            file.ReadExactly(header);
            if (!header[..8].SequenceEqual(Magic))
            {
                throw Corrupt(path, "bad magic (not an EdgeRelay address snapshot)");
            }

            var version = BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
            if (version != Version)
            {
                throw Corrupt(path, $"version {version} is not supported (this build reads version {Version})");
            }

            coveredAddress = BinaryPrimitives.ReadInt64BigEndian(header[16..]);
            var count = BinaryPrimitives.ReadInt64BigEndian(header[24..]);
            if (count < 0 || count > int.MaxValue || length != HeaderSize + (count * EntrySize) + HashSize)
            {
                throw Corrupt(path, $"{length} bytes does not match the {count} addresses it declares");
            }

            hash.AppendData(header);
            addresses = new List<AddressInfo>((int)count);
            var remaining = (int)count;
            while (remaining > 0)
            {
                var n = Math.Min(remaining, ChunkEntries);
                var bytes = chunk.AsSpan(0, n * EntrySize);
                file.ReadExactly(bytes);
                hash.AppendData(bytes);
                for (var i = 0; i < n; i++)
                {
                    addresses.Add(ReadEntry(bytes.Slice(i * EntrySize, EntrySize)));
                }

                remaining -= n;
            }

            Span<byte> expected = stackalloc byte[HashSize];
            Span<byte> actual = stackalloc byte[HashSize];
            file.ReadExactly(expected);
            hash.GetHashAndReset(actual);
            if (!CryptographicOperations.FixedTimeEquals(expected, actual))
            {
                throw Corrupt(path, "checksum mismatch");
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private static void WriteEntry(Span<byte> destination, AddressInfo info)
    {
        info.Id.Write(destination);
        info.OwnerPublicKey.Span.CopyTo(destination[AddressId.Length..]);
        var rest = destination[(AddressId.Length + AddressInfo.OwnerPublicKeyLength)..];
        BinaryPrimitives.WriteInt64BigEndian(rest, info.CreatedAt);
        BinaryPrimitives.WriteInt64BigEndian(rest[8..], info.ExpiresAt);
        BinaryPrimitives.WriteInt64BigEndian(rest[16..], info.RevokedAt);
    }

    private static AddressInfo ReadEntry(ReadOnlySpan<byte> source)
    {
        var id = AddressId.Read(source);
        var key = source.Slice(AddressId.Length, AddressInfo.OwnerPublicKeyLength).ToArray();
        var rest = source[(AddressId.Length + AddressInfo.OwnerPublicKeyLength)..];
        return new AddressInfo(
            id,
            key,
            BinaryPrimitives.ReadInt64BigEndian(rest),
            BinaryPrimitives.ReadInt64BigEndian(rest[8..]),
            BinaryPrimitives.ReadInt64BigEndian(rest[16..]));
    }

    private static InvalidDataException Corrupt(string path, string what) =>
        new($"The address snapshot '{path}' is corrupt: {what}. Refusing to open the store: without it, addresses " +
            "whose records were truncated from the log would be lost. Restore the file from a backup.");
}
