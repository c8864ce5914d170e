using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>
/// The key store file's layout (docs/RM-PROTOCOL.md §7) and how it reaches the disk: written whole into a
/// temporary file, fsynced, renamed over the old one, and the directory fsynced, so that a crash leaves the old
/// file or the new one, never a torn one.
/// </summary>
internal static partial class KeyStoreFile
{
    public const byte Version = 1;

    public const int SaltLength = 16;

    public const int NonceLength = 24;

    public const int TagLength = 16;

    /// <summary>IKs seed, IKa private key, state key: 32 bytes each.</summary>
    public const int SecretsLength = 3 * 32;

    public const int HeaderLength = 8 + 1 + 4 + 4 + 1 + SaltLength + NonceLength;

    public const int FileLength = HeaderLength + SecretsLength + TagLength;

    /// <summary>
    /// What is read before the header says more: room for a later version's longer file (so that it is reported as
    /// UnsupportedVersion, not Corrupt) without reading a huge wrong file whole.
    /// </summary>
    public const int MaxReadLength = 64 * 1024;

    /// <summary>The only lane count NSec's Argon2id offers.</summary>
    public const int Parallelism = 1;

    // "ERRMKEYS": EdgeRelay relationship-manager keys; lets a wrong file be told from a wrong passphrase.
    public static ReadOnlySpan<byte> Magic => "ERRMKEYS"u8;

    private const int VersionOffset = 8;
    private const int MemoryOffset = 9;
    private const int IterationsOffset = 13;
    private const int ParallelismOffset = 17;
    private const int SaltOffset = 18;
    private const int NonceOffset = SaltOffset + SaltLength;

    public static void WriteHeader(Span<byte> header, int memoryKiB, int iterations, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> nonce)
    {
        Magic.CopyTo(header);
        header[VersionOffset] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(header[MemoryOffset..], (uint)memoryKiB);
        BinaryPrimitives.WriteUInt32BigEndian(header[IterationsOffset..], (uint)iterations);
        header[ParallelismOffset] = Parallelism;
        salt.CopyTo(header[SaltOffset..]);
        nonce.CopyTo(header[NonceOffset..]);
    }

    /// <summary>
    /// Checks everything about a file that can be checked without the passphrase, in an order that gives the
    /// most useful error: not ours, then a version we do not know, then the length, then the cost it asks for.
    /// </summary>
    /// <exception cref="KeyStoreException">Corrupt, UnsupportedVersion or ParametersOutOfRange.</exception>
    public static KeyStoreOptions ReadHeader(ReadOnlySpan<byte> file)
    {
        if (file.Length <= VersionOffset || !file[..Magic.Length].SequenceEqual(Magic))
        {
            throw new KeyStoreException(KeyStoreError.Corrupt, "The file is not an EdgeRelay key store (bad magic or truncated).");
        }

        if (file[VersionOffset] != Version)
        {
            throw new KeyStoreException(KeyStoreError.UnsupportedVersion, $"Key store format version {file[VersionOffset]} is not supported (expected {Version}).");
        }

        if (file.Length != FileLength)
        {
            throw new KeyStoreException(KeyStoreError.Corrupt, $"A version {Version} key store is {FileLength} bytes; this file is {file.Length}.");
        }

        var memory = BinaryPrimitives.ReadUInt32BigEndian(file[MemoryOffset..]);
        var iterations = BinaryPrimitives.ReadUInt32BigEndian(file[IterationsOffset..]);
        var parallelism = file[ParallelismOffset];

        // Bounded before Argon2 runs: a hostile file must not make an open allocate gigabytes or spin for hours.
        // The floors are Argon2's own (files written with the tests' cheap options open too).
        if (memory is < KeyStoreOptions.FloorMemoryKiB or > KeyStoreOptions.MaxMemoryKiB
            || iterations is < KeyStoreOptions.FloorIterations or > KeyStoreOptions.MaxIterations
            || parallelism != Parallelism)
        {
            throw new KeyStoreException(
                KeyStoreError.ParametersOutOfRange,
                $"The file asks for Argon2id with {memory} KiB, {iterations} passes, {parallelism} lanes; at most {KeyStoreOptions.MaxMemoryKiB} KiB, {KeyStoreOptions.MaxIterations} passes and 1 lane are accepted.");
        }

        var floor = memory < KeyStoreOptions.MinMemoryKiB || iterations < KeyStoreOptions.MinIterations;
        return floor
            ? KeyStoreOptions.Testing with { MemoryKiB = (int)memory, Iterations = (int)iterations }
            : new KeyStoreOptions { MemoryKiB = (int)memory, Iterations = (int)iterations };
    }

    public static ReadOnlySpan<byte> Salt(ReadOnlySpan<byte> file) => file.Slice(SaltOffset, SaltLength);

    public static ReadOnlySpan<byte> Nonce(ReadOnlySpan<byte> file) => file.Slice(NonceOffset, NonceLength);

    /// <summary>Reads the file whole, refusing early anything too long to be a key store rather than reading it all.</summary>
    /// <exception cref="KeyStoreException">NotFound or Corrupt.</exception>
    public static byte[] Read(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var length = RandomAccess.GetLength(handle);
            if (length > MaxReadLength)
            {
                throw new KeyStoreException(KeyStoreError.Corrupt, $"The file is {length} bytes, longer than any key store.");
            }

            var bytes = new byte[length];
            var read = 0;
            while (read < bytes.Length)
            {
                var n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            return read == bytes.Length ? bytes : bytes[..read];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new KeyStoreException(KeyStoreError.NotFound, $"There is no key store at '{path}'.", e);
        }
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> to <paramref name="path"/> through a temporary file. With
    /// <paramref name="replace"/> false an existing file is never touched (AlreadyExists).
    /// <paramref name="beforeRename"/> lets tests stop where a crash would leave the temporary file behind.
    /// </summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes, bool replace, Action? beforeRename = null)
    {
        // A random name: two writers never share a temporary file, and one a crash left behind is never reused.
        var temporary = path + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + ".tmp";
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0, // no managed buffer keeping a copy
        };
        if (!OperatingSystem.IsWindows())
        {
            // Passed to open(2): owner-only from the instant the file exists, not chmod-ed afterwards.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            beforeRename?.Invoke();
            try
            {
                File.Move(temporary, path, overwrite: replace);
            }
            catch (IOException e) when (!replace && File.Exists(path))
            {
                throw new KeyStoreException(KeyStoreError.AlreadyExists, $"A file already exists at '{path}'; a key store is never overwritten.", e);
            }
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }

        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: what is left is sealed and owner-only.
        }
    }

    // A rename is durable only once its directory is; .NET exposes no directory fsync (as in EdgeRelay.Attachments).
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            // NTFS journals the rename; macOS would need F_FULLFSYNC, which a plain fsync does not give either.
            return;
        }

        var fd = Open(directory, 0); // O_RDONLY; O_DIRECTORY's value differs between x64 and arm64
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
