using System.Globalization;
using EdgeRelay.Addressing;
using EdgeRelay.Server.Admin;
using EdgeRelay.Storage;
using EdgeRelay.Storage.Faster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace EdgeRelay.Server;

/// <summary>
/// <c>GET /admin/backup</c>: a consistent copy of the running relay's data folder, as a tar stream
/// (<see cref="BackupArchive"/>): the message log and the outbound queue each at a commit taken now, the address
/// snapshot and format markers, <c>service.key</c>, the token file when it lives in the data folder, and the
/// committed attachments. The relay keeps serving meanwhile; only its storage maintenance waits.
/// </summary>
/// <remarks>
/// The commit point of the message log is in the <c>X-EdgeRelay-Commit-Point</c> header (and the manifest): every
/// message acknowledged before the request is below it. The stream is the whole secret state of the relay
/// (its service key included), which is why it is served only on the authenticated admin group.
/// </remarks>
internal static class BackupEndpoint
{
    internal static void MapBackup(RouteGroupBuilder admin, AdminEndpoints.AdminContext audit) =>
        admin.MapGet("/backup", (HttpContext context, RelayServer relay) => ServeAsync(context, relay, audit));

    private static async Task ServeAsync(HttpContext context, RelayServer relay, AdminEndpoints.AdminContext audit)
    {
        var ct = context.RequestAborted;
        var actor = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (relay.Storage is not IBackupSource storage)
        {
            await Results.Problem("The relay's storage backend cannot be copied while it runs.", statusCode: StatusCodes.Status501NotImplemented).ExecuteAsync(context);
            return;
        }

        var sets = new List<BackupSet>();
        try
        {
            sets.Add(await storage.BeginBackupAsync(ct));
            if (relay.Forwarding.Queue is IBackupSource outbound)
            {
                sets.Add((await outbound.BeginBackupAsync(ct)).Under(RelayForwarding.QueueFolder));
            }

            var files = LooseFiles(relay);
            var commitPoint = sets[0].CommitPoints.Max(p => p.CommittedUntil);
            BackupLog.Started(relay.Logger, actor, commitPoint, sets.Sum(s => s.Files.Count) + files.Count);
            context.Response.ContentType = "application/x-tar";
            context.Response.Headers[BackupArchive.CommitPointHeader] = commitPoint.ToString(CultureInfo.InvariantCulture);
            context.Response.Headers.CacheControl = "no-store";
            var manifest = await BackupArchive.WriteAsync(context.Response.Body, sets, files, relay.Time, progress: null, ct);
            BackupLog.Sent(relay.Logger, actor, manifest.Files.Count, manifest.TotalBytes, commitPoint);
            audit.Audit(context, "backup", "relay", "ok");
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidDataException)
        {
            // Once the stream has begun there is no status to change: the client sees a stream without its
            // manifest and refuses it.
            BackupLog.Failed(relay.Logger, actor, ex.Message);
            audit.Audit(context, "backup", "relay", "failed");
            context.Abort();
        }
        finally
        {
            foreach (var set in sets)
            {
                await set.DisposeAsync();
            }
        }
    }

    /// <summary>The data folder's files outside the stores, read or listed now.</summary>
    private static List<BackupFile> LooseFiles(RelayServer relay)
    {
        var dataDir = Path.GetFullPath(relay.Options.Storage.DataDir);
        var files = new List<BackupFile>();
        AddWhole(files, dataDir, ServiceKey.FileName);

        // The token file is rewritten (whole, by rename) when tokens change: read at once, it is one version.
        var tokens = Path.GetRelativePath(dataDir, relay.Tokens.Path);
        if (!tokens.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(tokens))
        {
            AddWhole(files, dataDir, tokens);
        }

        // Committed attachments never change; one that expires during the copy is left out (its open fails).
        var blobs = Path.Combine(dataDir, "attachments", "blobs");
        if (Directory.Exists(blobs))
        {
            foreach (var info in new DirectoryInfo(blobs).EnumerateFiles())
            {
                var path = info.FullName;
                files.Add(new BackupFile("attachments/blobs/" + info.Name, info.Length, () => OpenIfExists(path)));
            }
        }

        return files;
    }

    private static void AddWhole(List<BackupFile> files, string dataDir, string relative)
    {
        var path = Path.Combine(dataDir, relative);
        if (File.Exists(path))
        {
            var bytes = File.ReadAllBytes(path);
            files.Add(new BackupFile(relative.Replace(Path.DirectorySeparatorChar, '/'), bytes.Length, () => new MemoryStream(bytes, writable: false)));
        }
    }

    private static FileStream? OpenIfExists(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }
}
