namespace EdgeRelay.Storage.Faster;

/// <summary>The paths a backup may name, and the files and folders a backup or a restore creates (owner only).</summary>
internal static class BackupPaths
{
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// A relative path of plain names (letters, digits, <c>. _ -</c>) joined by <c>/</c>: nothing rooted, no
    /// <c>..</c>, so that a crafted backup cannot write outside the folder it is restored into.
    /// </summary>
    /// <exception cref="InvalidDataException">The path is not one.</exception>
    public static void Check(string path)
    {
        var ok = path.Length is > 0 and <= 512;
        foreach (var part in ok ? path.Split('/') : [])
        {
            ok &= part.Length > 0 && part != "." && part != ".." && part.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
        }

        if (!ok)
        {
            throw new InvalidDataException($"The backup names the file '{path}', which is not a plain relative path; refusing it.");
        }
    }

    /// <summary>The full path of <paramref name="relative"/> under <paramref name="root"/>, its folders created (0700).</summary>
    public static string Prepare(string root, string relative)
    {
        Check(relative);
        var full = Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar));
        CreateFolder(Path.GetDirectoryName(full)!);
        return full;
    }

    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, FolderMode);
        }
    }

    /// <summary>A new file (0600); refuses to overwrite.</summary>
    public static FileStream CreateFile(string path)
    {
        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        return new FileStream(path, options);
    }

    /// <summary>True when <paramref name="path"/> does not exist or holds nothing.</summary>
    public static bool IsEmptyOrMissing(string path) => !Directory.Exists(path) ? !File.Exists(path) : !Directory.EnumerateFileSystemEntries(path).Any();
}
