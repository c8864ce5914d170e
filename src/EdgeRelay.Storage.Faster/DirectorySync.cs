using System.Runtime.InteropServices;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// fsync of a directory, which .NET does not expose: on Linux a rename is durable only once its
/// directory is synced, and the store truncates the log on the strength of a renamed snapshot.
/// </summary>
internal static partial class DirectorySync
{
    // O_RDONLY. Opening a directory read-only is allowed and enough for fsync; O_DIRECTORY is left
    // out because its value differs between x64 and arm64.
    private const int ReadOnly = 0;

    /// <summary>Makes the directory's entries (creations, renames) durable. Throws <see cref="IOException"/> on failure.</summary>
    public static void Flush(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Windows: NTFS journals the rename's metadata; there is no portable way to flush a
            // directory. macOS would need F_FULLFSYNC. The relay ships on Linux.
            return;
        }

        var fd = Open(path, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{path}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{path}' failed (errno {Marshal.GetLastPInvokeError()}).");
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
