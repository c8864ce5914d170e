using System.Runtime.InteropServices;

namespace EdgeRelay.Executable.Commands;

/// <summary>
/// The data folder holds the service key, token hashes and queued ciphertexts: only the relay's user may read
/// it. The folder is made 0700, and the process's umask 077 makes every file created after this 0600 and every
/// folder 0700, including those FASTER creates itself (log segments, commit records), which no option reaches.
/// </summary>
internal static partial class PrivateFiles
{
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Returns why the folder could not be made private, or null.</summary>
    public static string? Restrict(string dataDir)
    {
        if (OperatingSystem.IsWindows())
        {
            return null; // ACLs, inherited from the parent folder; there is no umask to set
        }

        CreateOwnerOnly();
        try
        {
            Directory.CreateDirectory(dataDir, FolderMode);
            File.SetUnixFileMode(dataDir, FolderMode); // a folder that existed keeps its mode otherwise
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"the data folder '{dataDir}' (Storage:DataDir) cannot be created or made private (0700): {ex.Message}";
        }
    }

    /// <summary>From now on this process creates files 0600 and folders 0700 (umask 077), whoever creates them.</summary>
    public static void CreateOwnerOnly()
    {
        if (!OperatingSystem.IsWindows())
        {
            _ = Umask(0b000_111_111);
        }
    }

    [LibraryImport("libc", EntryPoint = "umask")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial uint Umask(uint mask);
}
