using System.CommandLine;
using EdgeRelay.Executable.Commands;
using EdgeRelay.Storage.Faster;

namespace EdgeRelay.Executable;

/// <summary>
/// <c>edgerelay backup --out DIR</c>: asks a running relay for a consistent copy of its data folder
/// (<c>GET /admin/backup</c>) and unpacks it into DIR, checking every file against the backup's manifest.
/// </summary>
internal static class BackupCommand
{
    internal static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder to write the backup into; created (owner only), and must be empty if it exists.", Required = true };
        var http = new Option<string?>("--http") { Description = "The relay's HTTP endpoint (host:port or http://host:port), where its admin API listens. Default: Http:Endpoint of the configuration." };
        var tokenFile = new Option<string?>("--token-file") { Description = $"File holding the admin token. Default: ${AdminHttpClient.TokenVariable}, else the configuration's Admin:TokenFile / Admin:Token." };
        var config = new Option<string?>("--config") { Description = "The relay's configuration file, for the defaults above. Default: as the relay finds it.", HelpName = "PATH" };
        var command = new Command("backup", "Copy a running relay's data (message log up to a commit point, address snapshot, service.key, tokens, outbound queue, attachments) into a folder, without stopping it. Exit codes: 0 done, 2 usage or target not empty, 6 relay unreachable or the copy failed, 7 admin token missing or refused.")
        {
            output, http, tokenFile, config,
        };
        command.SetAction((result, ct) => RunAsync(result.GetValue(output)!, result.GetValue(http), result.GetValue(tokenFile), result.GetValue(config), ct));
        return command;
    }

    private static async Task<int> RunAsync(string outDirectory, string? endpoint, string? tokenFile, string? configPath, CancellationToken ct)
    {
        var target = Path.GetFullPath(outDirectory);
        if (!IsEmptyOrMissing(target))
        {
            Console.Error.WriteLine($"edgerelay backup: the folder '{target}' is not empty; give a new or empty folder.");
            return ExitCodes.Usage;
        }

        var created = !Directory.Exists(target);
        try
        {
            // No timeout: a backup streams for as long as the log takes to copy.
            using var client = AdminHttpClient.Create(endpoint, tokenFile, configPath, Timeout.InfiniteTimeSpan);
            using var response = await client.OpenStreamAsync("admin/backup", ct);
            var commitPoint = response.Headers.TryGetValues(BackupArchive.CommitPointHeader, out var values) ? values.FirstOrDefault() : null;
            Console.Error.WriteLine($"edgerelay backup: copying from {client.BaseUri} (commit point {commitPoint ?? "unknown"}) into {target}");
            var progress = new Progress("copied");
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            var manifest = await BackupArchive.ExtractAsync(body, target, progress.Report, ct);
            progress.Done(manifest.TotalBytes);
            Console.WriteLine($"Backup written to {target}: {manifest.Files.Count} files, {manifest.TotalBytes} bytes, message log at commit point {manifest.CommitPoint}.");
            return ExitCodes.Ok;
        }
        catch (AdminCommandException ex)
        {
            Console.Error.WriteLine("edgerelay backup: " + ex.Message);
            RemovePartial(target, created);
            return ex.ExitCode == ExitCodes.Failure ? ExitCodes.Unreachable : ex.ExitCode; // a refusal with a reason is still no backup
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException)
        {
            Console.Error.WriteLine($"edgerelay backup: {ex.Message}");
            RemovePartial(target, created);
            return ExitCodes.Unreachable;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("edgerelay backup: cancelled; the partial copy was removed.");
            RemovePartial(target, created);
            return ExitCodes.Unreachable;
        }
    }

    private static bool IsEmptyOrMissing(string path) => Directory.Exists(path) ? !Directory.EnumerateFileSystemEntries(path).Any() : !File.Exists(path);

    /// <summary>A copy that was not checked whole must not be mistaken for a backup.</summary>
    private static void RemovePartial(string target, bool created)
    {
        try
        {
            if (created && Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }
            else if (Directory.Exists(target))
            {
                foreach (var entry in Directory.EnumerateFileSystemEntries(target))
                {
                    if (Directory.Exists(entry))
                    {
                        Directory.Delete(entry, recursive: true);
                    }
                    else
                    {
                        File.Delete(entry);
                    }
                }
            }
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"edgerelay backup: could not remove the partial copy in '{target}': {ex.Message}");
        }
    }
}
