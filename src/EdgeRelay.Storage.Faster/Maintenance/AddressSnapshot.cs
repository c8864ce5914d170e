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

    /// <summary>Read block at start-up: large enough that the reads, not the calls, are the cost.</summary>
    private const int ReadBlockSize = 1 << 20;

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
    /// Loads the snapshot into a list; false if there is none. A snapshot that exists but is not whole and valid
    /// throws <see cref="InvalidDataException"/>: starting without it would silently lose addresses.
    /// </summary>
    public static bool TryRead(string directory, out long coveredAddress, out List<AddressInfo> addresses)
    {
        List<AddressInfo>? list = null;
        var found = TryRead(directory, out coveredAddress, count => list = new List<AddressInfo>((int)count), info => list!.Add(info));
        addresses = list ?? [];
        return found;
    }

    /// <summary>
    /// Streams the snapshot: <paramref name="begin"/> learns how many addresses it declares, then <paramref name="add"/>
    /// gets each; false if there is none. The file is read in blocks, never whole (ten million addresses are
    /// 0.8 GB), and its checksum is verified on another thread at the same time. A snapshot that is not whole
    /// and valid throws <see cref="InvalidDataException"/> (a checksum mismatch is reported as such even if the
    /// damage also broke an entry), after <paramref name="add"/> may have seen some of it: the caller discards
    /// what it built.
    /// </summary>
    public static bool TryRead(string directory, out long coveredAddress, Action<long> begin, Action<AddressInfo> add)
    {
        var path = Path.Combine(directory, FileName);
        coveredAddress = 0;
        if (!File.Exists(path))
        {
            return false;
        }

        var verified = Task.Run(() => ChecksumMatches(path));
        try
        {
            coveredAddress = Parse(path, begin, add);
        }
        catch (InvalidDataException) when (!verified.GetAwaiter().GetResult())
        {
            throw Corrupt(path, "checksum mismatch");
        }

        if (!verified.GetAwaiter().GetResult())
        {
            throw Corrupt(path, "checksum mismatch");
        }

        return true;
    }

    /// <summary>Whether the last 32 bytes are the SHA-256 of the rest (false, too, for a file shorter than a header and a checksum).</summary>
    private static bool ChecksumMatches(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        var length = file.Length;
        if (length < HeaderSize + HashSize)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ReadBlockSize);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var remaining = length - HashSize;
            while (remaining > 0)
            {
                var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                if (read == 0)
                {
                    return false;
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }

            Span<byte> expected = stackalloc byte[HashSize];
            file.ReadExactly(expected);
            Span<byte> actual = stackalloc byte[HashSize];
            hash.GetHashAndReset(actual);
            return CryptographicOperations.FixedTimeEquals(expected, actual);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads header and entries (not the checksum); returns the covered address.</summary>
    private static long Parse(string path, Action<long> begin, Action<AddressInfo> add)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
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
        if (version is not (1 or Version))
        {
            throw Corrupt(path, $"version {version} is not supported (this build reads versions 1 and {Version})");
        }

        var coveredAddress = BinaryPrimitives.ReadInt64BigEndian(header[16..]);
        var count = BinaryPrimitives.ReadInt64BigEndian(header[24..]);
        var bodyLength = length - HeaderSize - HashSize;
        var minEntry = version == 1 ? V1EntrySize : V2FixedSize;
        if (count < 0 || count > bodyLength / minEntry || (version == 1 && bodyLength != count * V1EntrySize))
        {
            throw Corrupt(path, $"{length} bytes does not match the {count} addresses it declares");
        }

        begin(count);
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBlockSize);
        try
        {
            var unread = bodyLength; // body bytes still in the file
            var start = 0; // unparsed bytes are buffer[start..end)
            var end = 0;
            for (long i = 0; i < count; i++)
            {
                int size;
                AddressInfo info;
                while (!TryParseEntry(buffer.AsSpan(start, end - start), version, path, out info, out size))
                {
                    if (unread == 0)
                    {
                        throw Corrupt(path, "an address entry is cut short");
                    }

                    // Move the partial entry to the front and fill the rest of the buffer (an entry is at most
                    // V2FixedSize + MaxNotifyEndpointBytes, far below a block).
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                    var read = file.Read(buffer, end, (int)Math.Min(buffer.Length - end, unread));
                    if (read == 0)
                    {
                        throw Corrupt(path, "an address entry is cut short");
                    }

                    end += read;
                    unread -= read;
                }

                add(info);
                start += size;
            }

            var left = unread + end - start;
            if (left != 0)
            {
                throw Corrupt(path, $"{left} bytes follow the {count} addresses it declares");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return coveredAddress;
    }

    /// <summary>One entry from the front of <paramref name="source"/>; false when it does not hold all of it yet.</summary>
    private static bool TryParseEntry(ReadOnlySpan<byte> source, uint version, string path, out AddressInfo info, out int size)
    {
        info = null!;
        size = version == 1 ? V1EntrySize : V2FixedSize;
        if (source.Length < size)
        {
            return false;
        }

        if (version == 1)
        {
            info = ReadV1Entry(source);
            return true;
        }

        size += BinaryPrimitives.ReadUInt16BigEndian(source[(V1EntrySize + 5)..]);
        if (source.Length < size)
        {
            return false;
        }

        info = ReadV2Entry(source, path);
        return true;
    }

    private static int WriteEntry(Span<byte> destination, AddressInfo info)
    {
        info.Id.Write(destination);
        info.OwnerPublicKey.CopyTo(destination[AddressId.Length..]);
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
        var rest = source[(AddressId.Length + AddressInfo.OwnerPublicKeyLength)..];
        return new AddressInfo(
            AddressId.Read(source),
            source.Slice(AddressId.Length, AddressInfo.OwnerPublicKeyLength),
            BinaryPrimitives.ReadInt64BigEndian(rest),
            BinaryPrimitives.ReadInt64BigEndian(rest[8..]),
            BinaryPrimitives.ReadInt64BigEndian(rest[16..]));
    }

    /// <summary>A version 2 entry that <see cref="TryParseEntry"/> found whole in <paramref name="source"/>.</summary>
    private static AddressInfo ReadV2Entry(ReadOnlySpan<byte> source, string path)
    {
        var id = AddressId.Read(source);
        var rest = source[V1EntrySize..];
        var policy = new DeliveryPolicy((DeliveryPolicyKind)rest[0], BinaryPrimitives.ReadUInt32BigEndian(rest[1..]));
        if (!policy.IsValid)
        {
            throw Corrupt(path, $"the entry of address {id} is invalid");
        }

        var endpointLength = BinaryPrimitives.ReadUInt16BigEndian(rest[5..]);
        var endpoint = endpointLength == 0 ? null : Encoding.UTF8.GetString(rest.Slice(7, endpointLength));
        var times = source[(AddressId.Length + AddressInfo.OwnerPublicKeyLength)..];
        return new AddressInfo(
            id,
            source.Slice(AddressId.Length, AddressInfo.OwnerPublicKeyLength),
            BinaryPrimitives.ReadInt64BigEndian(times),
            BinaryPrimitives.ReadInt64BigEndian(times[8..]),
            BinaryPrimitives.ReadInt64BigEndian(times[16..]),
            policy,
            endpoint);
    }

    private static InvalidDataException Corrupt(string path, string what) =>
        new($"The address snapshot '{path}' is corrupt: {what}. Refusing to open the store: without it, addresses " +
            "whose records were truncated from the log would be lost. Restore the file from a backup.");
}
