using System.Runtime.InteropServices;

namespace EdgeRelay.Attachments;

/// <summary>
/// fsync of a directory, which .NET does not expose: on Linux a rename or a new file is durable only once
/// its directory is synced, and a committed attachment is promised to survive a crash.
/// </summary>
internal static partial class DirectorySync
{
    // O_RDONLY: enough for fsync; O_DIRECTORY is left out because its value differs between x64 and arm64.
    private const int ReadOnly = 0;

    public static void Flush(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            // NTFS journals the rename's metadata and has no portable directory flush; the relay ships on Linux.
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
