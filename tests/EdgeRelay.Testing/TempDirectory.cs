namespace EdgeRelay.Testing;

/// <summary>A fresh directory per test under the system's temporary folder, deleted (with everything in it) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "edgerelay-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A path inside this directory.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>
    /// Copies this directory into a new one, as it is on disk at this instant (a lock file is left behind):
    /// what a process killed now would leave for its successor.
    /// </summary>
    public TempDirectory CopyAsIs(string prefix = "edgerelay-test-copy")
    {
        var copy = new TempDirectory(prefix);
        foreach (var directory in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(System.IO.Path.Combine(copy.Path, System.IO.Path.GetRelativePath(Path, directory)));
        }

        foreach (var file in Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories))
        {
            if (System.IO.Path.GetFileName(file) == "lock")
            {
                continue;
            }

            // Open with sharing: the store that owns the files may still hold them open.
            using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var target = File.Create(System.IO.Path.Combine(copy.Path, System.IO.Path.GetRelativePath(Path, file)));
            source.CopyTo(target);
        }

        return copy;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
            // A child process that has not exited yet may still hold a file; the OS cleans the temp folder.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
