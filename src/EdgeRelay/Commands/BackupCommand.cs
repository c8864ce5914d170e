using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using EdgeRelay.Executable.Commands;
using EdgeRelay.Server;
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
        var http = new Option<string>("--http") { Description = "The relay's HTTP endpoint (host:port or http://host:port), where its admin API listens.", DefaultValueFactory = _ => new EdgeRelayOptions().Http.Endpoint };
        var tokenFile = new Option<string?>("--token-file") { Description = "File holding the admin token (Admin:Token of the relay). Default: the EDGERELAY_ADMIN_TOKEN environment variable." };
        var command = new Command("backup", "Copy a running relay's data (message log up to a commit point, address snapshot, service.key, tokens, outbound queue, attachments) into a folder, without stopping it. Exit codes: 0 done, 2 usage or target not empty, 6 relay unreachable or the copy failed, 7 admin token missing or refused.")
        {
            output, http, tokenFile,
        };
        command.SetAction((result, ct) => RunAsync(result.GetValue(output)!, result.GetValue(http)!, result.GetValue(tokenFile), ct));
        return command;
    }

    private static async Task<int> RunAsync(string outDirectory, string endpoint, string? tokenFile, CancellationToken ct)
    {
        var token = AdminToken.Read(tokenFile, out var tokenProblem);
        if (token is null)
        {
            Console.Error.WriteLine("edgerelay backup: " + tokenProblem);
            return ExitCodes.Unauthorised;
        }

        var target = Path.GetFullPath(outDirectory);
        if (!IsEmptyOrMissing(target))
        {
            Console.Error.WriteLine($"edgerelay backup: the folder '{target}' is not empty; give a new or empty folder.");
            return ExitCodes.Usage;
        }

        var created = !Directory.Exists(target);
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var url = AdminToken.BaseUrl(endpoint) + "admin/backup";
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                Console.Error.WriteLine($"edgerelay backup: {url} refused the admin token ({(int)response.StatusCode}).");
                return ExitCodes.Unauthorised;
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                var why = response.StatusCode == HttpStatusCode.NotFound ? " (is the admin API on? it needs Admin:Token or Admin:TokenFile)" : "";
                Console.Error.WriteLine($"edgerelay backup: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}{why}.");
                return ExitCodes.Unreachable;
            }

            var commitPoint = response.Headers.TryGetValues(BackupArchive.CommitPointHeader, out var values) ? values.FirstOrDefault() : null;
            Console.Error.WriteLine($"edgerelay backup: copying from {url} (commit point {commitPoint ?? "unknown"}) into {target}");
            var progress = new Progress("copied");
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            var manifest = await BackupArchive.ExtractAsync(body, target, progress.Report, ct);
            progress.Done(manifest.TotalBytes);
            Console.WriteLine($"Backup written to {target}: {manifest.Files.Count} files, {manifest.TotalBytes} bytes, message log at commit point {manifest.CommitPoint}.");
            return ExitCodes.Ok;
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
