using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The address registry as of a log address X: every address record below X is reflected in it,
/// none at or above X. Recovery loads it, then replays address records from X on, which lets the log
/// head move past old address records.
/// </summary>
/// <remarks>
/// Layout (integers big-endian):
/// <code>
/// magic "ERADDRS1"[8]  version:u32 = 2  reserved:u32 = 0  coveredAddress:i64  count:i64
/// count × ( aid[16] ownerKey[32] createdAt:i64 expiresAt:i64 revokedAt:i64 (0 = not revoked)
///           policyKind:u8 windowMs:u32 endpointLength:u16 endpoint[endpointLength] (UTF-8) )
/// sha256[32] over everything before it
/// </code>
/// Version 1 files (no policy, no endpoint: every entry 80 bytes) are still read. Written to a
/// temporary file, fsynced, renamed over the old one, then the directory is fsynced, so the file is
/// always the old or the new snapshot, whole, and the rename is durable before the caller truncates
/// the log on the strength of it. SHA-256 is the checksum because it is in the base library (a CRC
/// would need another package) and runs at GB/s, far above what a snapshot needs.
/// </remarks>
internal static class AddressSnapshot
{
    public const string FileName = "addresses.snapshot";
    public const string TempFileName = FileName + ".tmp";
    public const int Version = 2;

    private const int HeaderSize = 8 + 4 + 4 + 8 + 8;
    private const int V1EntrySize = AddressId.Length + AddressInfo.OwnerPublicKeyLength + 8 + 8 + 8;
    private const int V2FixedSize = V1EntrySize + 1 + 4 + 2;
    private const int HashSize = 32;
    private const int BufferSize = 1 << 16;

    private static ReadOnlySpan<byte> Magic => "ERADDRS1"u8;

    /// <summary>Writes the snapshot durably and returns its size in bytes.</summary>
    public static long Write(string directory, long coveredAddress, IReadOnlyList<AddressInfo> addresses)
    {
        var path = Path.Combine(directory, FileName);
        var temp = Path.Combine(directory, TempFileName);
        var entry = ArrayPool<byte>.Shared.Rent(V2FixedSize + AddressInfo.MaxNotifyEndpointBytes);
        long written = 0;
        try
        {
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: BufferSize))
            {
                void Put(ReadOnlySpan<byte> bytes)
                {
                    hash.AppendData(bytes);
                    file.Write(bytes);
                    written += bytes.Length;
                }

                Span<byte> header = stackalloc byte[HeaderSize];
                Magic.CopyTo(header);
                BinaryPrimitives.WriteUInt32BigEndian(header[8..], Version);
                BinaryPrimitives.WriteUInt32BigEndian(header[12..], 0);
                BinaryPrimitives.WriteInt64BigEndian(header[16..], coveredAddress);
                BinaryPrimitives.WriteInt64BigEndian(header[24..], addresses.Count);
                Put(header);

                foreach (var info in addresses)
                {
                    Put(entry.AsSpan(0, WriteEntry(entry, info)));
                }

                Span<byte> digest = stackalloc byte[HashSize];
                hash.GetHashAndReset(digest);
                file.Write(digest);
                written += HashSize;
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            DirectorySync.Flush(directory);
            return written;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(entry);
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

        // Whole-file read: a snapshot is ~90 bytes an address, read once at start-up.
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < HeaderSize + HashSize)
        {
            throw Corrupt(path, $"{bytes.Length} bytes is shorter than header and checksum");
        }

        var header = bytes.AsSpan(0, HeaderSize);
        if (!header[..8].SequenceEqual(Magic))
        {
            throw Corrupt(path, "bad magic (not an EdgeRelay address snapshot)");
        }

        var version = BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
        if (version is not (1 or Version))
        {
            throw Corrupt(path, $"version {version} is not supported (this build reads versions 1 and {Version})");
        }

        Span<byte> actual = stackalloc byte[HashSize];
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - HashSize), actual);
        if (!CryptographicOperations.FixedTimeEquals(bytes.AsSpan(bytes.Length - HashSize), actual))
        {
            throw Corrupt(path, "checksum mismatch");
        }

        coveredAddress = BinaryPrimitives.ReadInt64BigEndian(header[16..]);
        var count = BinaryPrimitives.ReadInt64BigEndian(header[24..]);
        var body = bytes.AsSpan(HeaderSize, bytes.Length - HeaderSize - HashSize);
        var minEntry = version == 1 ? V1EntrySize : V2FixedSize;
        if (count < 0 || count > body.Length / minEntry || (version == 1 && body.Length != count * V1EntrySize))
        {
            throw Corrupt(path, $"{bytes.Length} bytes does not match the {count} addresses it declares");
        }

        addresses = new List<AddressInfo>((int)count);
        for (var i = 0; i < count; i++)
        {
            var size = V1EntrySize;
            addresses.Add(version == 1 ? ReadV1Entry(body) : ReadV2Entry(body, path, out size));
            body = body[size..];
        }

        if (!body.IsEmpty)
        {
            throw Corrupt(path, $"{body.Length} bytes follow the {count} addresses it declares");
        }

        return true;
    }

    private static int WriteEntry(Span<byte> destination, AddressInfo info)
    {
        info.Id.Write(destination);
        info.OwnerPublicKey.Span.CopyTo(destination[AddressId.Length..]);
        var rest = destination[(AddressId.Length + AddressInfo.OwnerPublicKeyLength)..];
        BinaryPrimitives.WriteInt64BigEndian(rest, info.CreatedAt);
        BinaryPrimitives.WriteInt64BigEndian(rest[8..], info.ExpiresAt);
        BinaryPrimitives.WriteInt64BigEndian(rest[16..], info.RevokedAt);
        rest[24] = (byte)info.Policy.Kind;
        BinaryPrimitives.WriteUInt32BigEndian(rest[25..], info.Policy.WindowMilliseconds);
        var endpointLength = info.NotifyEndpoint is null ? 0 : Encoding.UTF8.GetBytes(info.NotifyEndpoint, rest[31..]);
        BinaryPrimitives.WriteUInt16BigEndian(rest[29..], (ushort)endpointLength);
        return V2FixedSize + endpointLength;
    }

    private static AddressInfo ReadV1Entry(ReadOnlySpan<byte> source)
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

    private static AddressInfo ReadV2Entry(ReadOnlySpan<byte> source, string path, out int size)
    {
        if (source.Length < V2FixedSize)
        {
            throw Corrupt(path, "an address entry is cut short");
        }

        var v1 = ReadV1Entry(source);
        var rest = source[V1EntrySize..];
        var policy = new DeliveryPolicy((DeliveryPolicyKind)rest[0], BinaryPrimitives.ReadUInt32BigEndian(rest[1..]));
        var endpointLength = BinaryPrimitives.ReadUInt16BigEndian(rest[5..]);
        size = V2FixedSize + endpointLength;
        if (!policy.IsValid || source.Length < size)
        {
            throw Corrupt(path, $"the entry of address {v1.Id} is invalid");
        }

        var endpoint = endpointLength == 0 ? null : Encoding.UTF8.GetString(rest.Slice(7, endpointLength));
        return new AddressInfo(v1.Id, v1.OwnerPublicKey, v1.CreatedAt, v1.ExpiresAt, v1.RevokedAt, policy, endpoint);
    }

    private static InvalidDataException Corrupt(string path, string what) =>
        new($"The address snapshot '{path}' is corrupt: {what}. Refusing to open the store: without it, addresses " +
            "whose records were truncated from the log would be lost. Restore the file from a backup.");
}
