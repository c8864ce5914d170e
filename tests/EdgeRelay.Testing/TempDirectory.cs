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
    /// <remarks>
    /// The store that owns the files keeps working while they are copied, and FASTER deletes a commit file once a
    /// newer one is written. A file that vanishes between listing and opening would leave a copy no crash could
    /// produce (neither the old commit file nor, perhaps, the new one), so such a pass is discarded and the copy
    /// taken again.
    /// </remarks>
    public TempDirectory CopyAsIs(string prefix = "edgerelay-test-copy")
    {
        const int attempts = 20;
        for (var attempt = 1; ; attempt++)
        {
            var copy = new TempDirectory(prefix);
            try
            {
                CopyInto(copy.Path);
                return copy;
            }
            catch (IOException e) when (e is FileNotFoundException or DirectoryNotFoundException && attempt < attempts)
            {
                copy.Dispose();
            }
            catch
            {
                copy.Dispose();
                throw;
            }
        }
    }

    private void CopyInto(string destination)
    {
        foreach (var directory in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(System.IO.Path.Combine(destination, System.IO.Path.GetRelativePath(Path, directory)));
        }

        foreach (var file in Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories))
        {
            if (System.IO.Path.GetFileName(file) == "lock")
            {
                continue;
            }

            // Open with sharing: the store that owns the files may still hold them open.
            using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var target = System.IO.Path.Combine(destination, System.IO.Path.GetRelativePath(Path, file));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            using var output = File.Create(target);
            source.CopyTo(output);
        }
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
