using System.Globalization;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// One process per data folder: an exclusive advisory lock on <c>lock</c> (flock on Unix, held for the store's
/// life and released by the kernel when the process dies), and the holder's pid in <c>lock.pid</c> beside it.
/// The pid cannot live in the locked file itself: .NET opens a file for reading with a shared flock, which an
/// exclusive one refuses, so a second relay could not read it to say who holds the folder.
/// </summary>
internal static class DataFolderLock
{
    public const string FileName = "lock";
    public const string HolderFileName = "lock.pid";

    /// <exception cref="DataFolderInUseException">Another process holds the lock.</exception>
    public static FileStream Acquire(string directory)
    {
        var path = Path.Combine(directory, FileName);
        FileStream stream;
        try
        {
            // FileShare.None: .NET takes an exclusive advisory lock (flock on Unix), released with the handle.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new DataFolderInUseException(directory, path, ReadHolder(directory), ex);
        }

        try
        {
            // Written whole, then renamed over the old one: a reader sees the previous holder's pid or ours, never half.
            var holder = Path.Combine(directory, HolderFileName);
            var temporary = holder + ".tmp";
            File.WriteAllText(temporary, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            File.Move(temporary, holder, overwrite: true);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Forgets the pid, then lets the lock go (in that order: whoever takes the lock next writes its own).</summary>
    public static async ValueTask ReleaseAsync(FileStream stream, string directory)
    {
        try
        {
            File.Delete(Path.Combine(directory, HolderFileName));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A stale pid file is overwritten by the next holder; the lock below is what matters.
        }

        await stream.DisposeAsync();
    }

    private static int? ReadHolder(string directory)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(directory, HolderFileName)).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // taken an instant ago and not yet written, or unreadable: the message says the pid is unknown
        }
    }
}

/// <summary>The data folder is locked by another process (another relay, or a tool working on its files).</summary>
public sealed class DataFolderInUseException : IOException
{
    public DataFolderInUseException(string directory, string lockPath, int? holderProcessId, Exception inner)
        : base(
            $"the data folder '{directory}' is in use by another process "
            + (holderProcessId is { } pid ? $"(pid {pid.ToString(CultureInfo.InvariantCulture)})" : "(its pid is unknown)")
            + $": it holds the lock on '{lockPath}'. Stop it, or give this relay another Storage:DataDir.",
            inner)
    {
        Directory = directory;
        HolderProcessId = holderProcessId;
    }

    public DataFolderInUseException()
    {
        Directory = string.Empty;
    }

    public DataFolderInUseException(string message)
        : base(message)
    {
        Directory = string.Empty;
    }

    public DataFolderInUseException(string message, Exception inner)
        : base(message, inner)
    {
        Directory = string.Empty;
    }

    public string Directory { get; }

    /// <summary>The holder's pid as it wrote it beside the lock; null when it could not be read.</summary>
    public int? HolderProcessId { get; }
}
