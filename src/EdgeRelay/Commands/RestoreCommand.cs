using System.CommandLine;
using EdgeRelay.Executable.Commands;
using EdgeRelay.Storage.Faster;

namespace EdgeRelay.Executable;

/// <summary>
/// <c>edgerelay restore --from BACKUP --data DIR</c>: checks a backup written by <c>edgerelay backup</c> against
/// its manifest and writes it into an empty data folder, so that a relay started on it recovers to the backup's
/// commit point. Works offline: no relay needs to run.
/// </summary>
internal static class RestoreCommand
{
    internal static Command Create()
    {
        var from = new Option<string>("--from") { Description = "The backup folder (written by 'edgerelay backup').", Required = true };
        var data = new Option<string>("--data") { Description = "The data folder to create (Storage:DataDir of the relay that will start on it); must be new or empty.", Required = true };
        var command = new Command("restore", "Check a backup (sizes and SHA-256 of every file) and write it into a new, empty data folder. Exit codes: 0 done, 2 usage or data folder not empty, 3 the backup is damaged or incomplete (the file is named).")
        {
            from, data,
        };
        command.SetAction((result, ct) => RunAsync(result.GetValue(from)!, result.GetValue(data)!, ct));
        return command;
    }

    private static async Task<int> RunAsync(string from, string data, CancellationToken ct)
    {
        var progress = new Progress("restored");
        try
        {
            var manifest = await BackupRestore.RestoreAsync(from, data, progress.Report, ct);
            progress.Done(manifest.TotalBytes);
            Console.WriteLine($"Restored {manifest.Files.Count} files ({manifest.TotalBytes} bytes) into {Path.GetFullPath(data)}; a relay started on it recovers the message log to commit point {manifest.CommitPoint}.");
            return ExitCodes.Ok;
        }
        catch (BackupTargetNotEmptyException ex)
        {
            Console.Error.WriteLine("edgerelay restore: " + ex.Message);
            return ExitCodes.Usage;
        }
        catch (InvalidDataException ex)
        {
            Console.Error.WriteLine("edgerelay restore: " + ex.Message);
            return ExitCodes.Storage;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine("edgerelay restore: " + ex.Message);
            return ExitCodes.Failure;
        }
    }
}
