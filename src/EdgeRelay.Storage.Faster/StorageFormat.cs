namespace EdgeRelay.Storage.Faster;

/// <summary>
/// A one-line marker file naming the on-disk format of a data folder, so that a relay never reads a log
/// written in a format it does not speak as if it were its own (FASTER's entry header differs with and
/// without per-entry checksums, and would be misread, not refused).
/// </summary>
internal static class StorageFormat
{
    public const string FileName = "storage.format";

    /// <summary>FASTER log, fast commit, per-entry checksums, log records of <see cref="LogRecords"/>.</summary>
    public const string Current = "edgerelay-faster-log 2 (fast commit, per-entry checksums)";

    /// <summary>Writes the marker for a new folder, or refuses a folder written in another format.</summary>
    /// <exception cref="InvalidDataException">The folder holds a log in another format, or one with no marker.</exception>
    public static void CheckOrCreate(string dataDirectory, string logDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path))
        {
            var found = File.ReadAllText(path).Trim();
            if (found != Current)
            {
                throw new InvalidDataException($"The data folder '{dataDirectory}' holds a log in the format '{found}'; this relay reads '{Current}' only. Use a relay of the version that wrote it, or start on an empty folder.");
            }

            return;
        }

        if (Directory.EnumerateFiles(logDirectory, "relay.log.*").Any())
        {
            throw new InvalidDataException($"The data folder '{dataDirectory}' holds log segments but no '{FileName}': it was written by an older relay, whose entries lack the per-entry checksums this one reads. Start on an empty folder (drain the old relay first).");
        }

        File.WriteAllText(path, Current + "\n");
        DirectorySync.Flush(dataDirectory);
    }
}
